"""Attacks on ingest from outside, on the real stack: each stays refused and leaves no trace in Kafka or Redis."""

import asyncio
import json
import socket
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import redis

from tests.clients import post_batch, post_event, read_topic
from tests.factories import cloud_event, income, registration, resident_id

pytestmark = pytest.mark.integration


def canonical(stack) -> list[dict]:
    return [json.loads(message.value) for message in read_topic(stack.bootstrap, "events.canonical", idle_ms=800)]


def errors_of(response: httpx.Response) -> dict[str, str]:
    return {error["field"]: error["reason"] for error in response.json()["errors"]}


def redis_holds(stack, needle: str) -> list[str]:
    """Redis keys whose name or value contains `needle`."""
    client, found = redis.Redis.from_url(stack.redis_url), []
    values: list[Any]
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        if kind == b"string":
            values = [client.get(key) or b""]
        elif kind == b"hash":
            values = [*client.hgetall(key).keys(), *client.hgetall(key).values()]
        elif kind == b"set":
            values = list(client.smembers(key))
        elif kind == b"list":
            values = client.lrange(key, 0, -1)
        elif kind == b"zset":
            values = client.zrange(key, 0, -1)
        else:
            values = [repr(client.xrange(key)).encode()]
        if needle.encode() in key or any(needle.encode() in value for value in values):
            found.append(key.decode(errors="replace"))
    return found


def test_implausible_periods_dates_and_times_are_refused_naming_the_field_and_plausible_ones_pass(stack):
    medical = {"household_id": "HSEC-T1", "total_cost": 9, "out_of_pocket": 9}
    disaster = {"household_id": "HSEC-T1", "hazard": "flood", "house_damage": "none", "economic_loss": 1}
    refused = [
        (income("HSEC-T1", "9999-12", 900000), "data.period"),
        (income("HSEC-T1", "0001-01", 1), "data.period"),
        (income("HSEC-T1", "2205-01", 100), "data.period"),
        (income("HSEC-T1", "2025-03", 100, time="9999-12-31T00:00:00Z"), "time"),
        (income("HSEC-T1", "2025-03", 100, time="0001-01-01T00:00:00Z"), "time"),
        (income("HSEC-T1", "2025-03", 100, time="2205-03-01T08:00:00+08:00"), "time"),
        (cloud_event("medical.expense.incurred", {**medical, "date": "9999-12-31"}), "data.date"),
        (cloud_event("disaster.loss.reported", {**disaster, "date": "0001-01-01"}), "data.date"),
        (
            cloud_event("assistance.requested", {"household_id": "HSEC-T1", "date": "2205-01-01", "reason": "x"}),
            "data.date",
        ),  # fmt: skip
    ]
    for event, field in refused:
        response = post_event(stack, event)
        assert response.status_code == 422 and field in errors_of(response), (event, response.text)
    published = {message["id"] for message in canonical(stack)}
    assert not {event["id"] for event, _ in refused} & published
    assert post_event(stack, income("HSEC-T2", "2015-01", 100, time="2015-02-01T00:00:00Z")).status_code == 202
    assert post_event(stack, registration("HSEC-T2", 9600, time="2021-01-01T00:00:00+08:00")).status_code == 202


def test_a_resident_id_in_free_text_or_an_identifier_is_refused_and_reaches_neither_kafka_nor_redis(stack):
    person = resident_id("53232819700707551")
    x_person = resident_id("11010519491231002").lower()  # ends in a lower-case x
    fullwidth = person.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    broken_up = person[:6] + "\u200b" + person[6:]
    assist = {"household_id": "HSEC-ID1", "date": "2025-03-02"}
    attacks = {
        "data.reason": [
            cloud_event("assistance.requested", {**assist, "reason": f"本人身份证号{person}，家里有人生病"}),
            cloud_event("assistance.requested", {**assist, "reason": f"ID {x_person}"}),
            cloud_event("assistance.requested", {**assist, "reason": f"身份证{fullwidth}"}),
            cloud_event("assistance.requested", {**assist, "reason": f"身份证{broken_up}"}),
        ],
        "id": [income("HSEC-ID1", "2025-03", 100, id=f"row-{person}")],
        "source": [{**income("HSEC-ID1", "2025-03", 100), "source": f"/civil-affairs/{person}"}],
        "subject": [income("HSEC-ID1", "2025-03", 100, subject=person)],
        "data.household_id": [income(f"H{person}", "2025-03", 100)],
    }
    events = [(field, event) for field, group in attacks.items() for event in group]
    response = post_batch(stack, [event for _, event in events])
    assert response.status_code == 207
    for (field, _), result in zip(events, response.json()["results"], strict=True):
        assert result["status"] == "rejected", result
        assert field in {error["field"] for error in result["errors"]}, result
    single = post_event(stack, attacks["data.reason"][0])
    assert single.status_code == 422 and "resident ID" in errors_of(single)["data.reason"]
    for number in (person, x_person, x_person.upper()):
        assert all(number not in json.dumps(message, ensure_ascii=False) for message in canonical(stack))
        assert redis_holds(stack, number) == []


def test_an_ingest_key_scoped_to_regions_cannot_rewrite_a_household_registered_elsewhere(stack):
    assert post_event(stack, registration("HSEC-K1", 9600, region_code="532328101004")).status_code == 202
    moved = registration("HSEC-K1", 9600, region_code="110101001001")
    moved["source"] = "/civil-affairs/1101"
    response = post_event(stack, moved, key="beijing-key")
    assert response.status_code == 403
    assert "registered in region 532328101004" in errors_of(response)["data.household_id"]

    later = {**income("HSEC-K1", "2025-03", 1), "source": "/civil-affairs/1101"}
    batch = post_batch(stack, [later, registration("HSEC-K2", 9600, region_code="532328101001")], key="beijing-key")
    assert [result["status"] for result in batch.json()["results"]] == ["rejected", "rejected"]
    assert [result["errors"][0]["field"] for result in batch.json()["results"]] == [
        "data.household_id",
        "data.region_code",
    ]
    published = {message["id"] for message in canonical(stack)}
    assert not {moved["id"], later["id"]} & published


def test_a_key_may_write_households_of_its_own_regions_and_an_unscoped_key_still_writes_anywhere(stack):
    own = registration("HSEC-K3", 9600, region_code="532399101001")
    assert post_event(stack, own, key="county-key").status_code == 202
    assert post_event(stack, income("HSEC-K3", "2025-03", 800), key="county-key").status_code == 202
    anywhere = registration("HSEC-K3", 9600, region_code="110101001001")
    assert post_event(stack, anywhere).status_code == 202  # test-ingest-key=/ : the original syntax, any region
    assert post_event(stack, income("HSEC-K3", "2025-04", 800), key="county-key").status_code == 403


def raw_post(stack, body: bytes, content_type: str = "application/cloudevents+json") -> httpx.Response:
    headers = {"authorization": f"Bearer {stack.ingest_key}", "content-type": content_type}
    return httpx.post(f"{stack.ingest_url}/events", content=body, headers=headers, timeout=30)


def test_json_nested_a_thousand_deep_is_refused_as_unparseable_never_a_server_error(stack):
    deep = b'{"data": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    assert raw_post(stack, deep).status_code == 400
    assert raw_post(stack, b"[" + deep + b"]", "application/cloudevents-batch+json").status_code == 400
    shallow_enough_to_read = registration("HSEC-N1", 9600)
    shallow_enough_to_read["data"]["phone"] = json.loads("[" * 100 + "]" * 100)
    response = post_batch(stack, [shallow_enough_to_read])
    assert response.status_code == 207 and response.json()["results"][0]["status"] == "rejected"
    assert httpx.get(f"{stack.ingest_url}/healthz").status_code == 200


def test_every_non_finite_or_unreadable_number_is_refused_never_a_server_error(stack):
    cases = [(b"NaN", 400), (b"Infinity", 400), (b"-Infinity", 400), (b"1e999", 422), (b"1" + b"0" * 5000, 400)]
    for amount, status in cases:
        body = json.dumps(income("HSEC-N2", "2025-03", 1)).encode().replace(b'"amount": 1', b'"amount": ' + amount)
        response = raw_post(stack, body)
        assert response.status_code == status, (amount[:20], response.text)
        if status == 422:
            assert "finite" in errors_of(response)["data.amount"]


def test_a_lone_surrogate_is_refused_as_not_unicode_never_a_server_error(stack):
    body = json.dumps(income("HSEC-N3", "2025-03", 1)).encode().replace(b'"id": "', b'"id": "\\ud800', 1)
    response = raw_post(stack, body)
    assert response.status_code == 400 and "surrogate" in response.json()["detail"]


async def send_at_once(stack, event: dict, copies: int) -> list[int]:
    """POST `copies` of one event at the same moment, each on a connection of its own opened beforehand."""
    headers = {"authorization": f"Bearer {stack.ingest_key}", "content-type": "application/cloudevents+json"}
    body = json.dumps(event).encode()
    clients = [httpx.AsyncClient(base_url=stack.ingest_url, headers=headers, timeout=60) for _ in range(copies)]
    try:
        await asyncio.gather(*(client.get("/healthz") for client in clients))
        responses = await asyncio.gather(*(client.post("/events", content=body) for client in clients))
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))
    return [response.status_code for response in responses]


def test_twenty_identical_events_sent_at_once_are_accepted_once_and_published_once(stack):
    for attempt in range(3):
        event = income("HSEC-D1", "2025-03", 100, id=f"race-{attempt}")
        assert sorted(asyncio.run(send_at_once(stack, event, 20))) == [200] * 19 + [202]
        assert [message["id"] for message in canonical(stack)].count(event["id"]) == 1


def test_near_duplicate_ids_in_fullwidth_forms_are_the_same_event_and_ids_stay_case_sensitive(stack):
    first = income("HSEC-U1", "2025-03", 100, id="dept-evt-7")
    assert post_event(stack, first).status_code == 202
    fullwidth = {**first, "id": "ｄｅｐｔ-ｅｖｔ-７", "source": "／civil-affairs／532328"}
    assert post_event(stack, fullwidth).json()["status"] == "duplicate"
    assert post_event(stack, {**first, "id": "DEPT-EVT-7"}).status_code == 202  # another event, by the contract


@pytest.mark.parametrize(
    "field,value",
    [
        ("id", "evt\u200b-1"),
        ("id", "evt-\u202e1"),
        ("source", "/civil-affairs/\x07"),
        ("data.reason", "生病\u202e了"),
        ("data.reason", "生病\x1b[31m"),
    ],
)
def test_invisible_control_and_bidi_override_characters_are_refused_naming_the_field(stack, field, value):
    event = cloud_event("assistance.requested", {"household_id": "HSEC-U2", "date": "2025-03-02", "reason": "生病"})
    if field == "data.reason":
        event["data"]["reason"] = value
    else:
        event[field] = value
    response = post_event(stack, event)
    assert response.status_code == 422 and field in errors_of(response)
    lines = cloud_event("assistance.requested", {"household_id": "HSEC-U2", "date": "2025-03-02", "reason": "一\n二"})
    assert post_event(stack, lines).status_code == 202  # a person's text may still span lines


def declared_upload(stack, key: str | None, length: int) -> int:
    """POST /imports declaring `length` bytes, sending none: the status line ingest answers with."""
    address = urlparse(stack.ingest_url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as connection:
        authorization = f"Authorization: Bearer {key}\r\n" if key else ""
        connection.sendall(
            (
                f"POST /imports?mapping=medical-insurance HTTP/1.1\r\nHost: {address.netloc}\r\n{authorization}"
                f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {length}\r\n\r\n"
            ).encode()
        )
        status_line = connection.makefile("rb").readline()  # times out if ingest waits for the body first
    return int(status_line.split()[1])


def test_an_upload_is_refused_before_its_body_is_read_without_a_key_or_above_the_limit(stack):
    assert declared_upload(stack, None, 300 * 1024 * 1024) == 401
    assert declared_upload(stack, "not-a-key", 300 * 1024 * 1024) == 401
    assert declared_upload(stack, stack.ingest_key, 300 * 1024 * 1024) == 413
