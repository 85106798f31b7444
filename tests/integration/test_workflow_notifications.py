"""Routing and notification: signed webhooks per township or county (with the case's risk types), retried until
delivered; the live stream."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import redis
from standardwebhooks import Webhook

from services.common.scores import RiskTypeProposal
from tests.clients import create_user, login
from tests.infra import free_port, wait_until
from tests.workflow_stack import poll, score, start_workflow_stack

pytestmark = pytest.mark.integration
SECRET = "a-webhook-secret-0123456789"
ILL = RiskTypeProposal(risk_type="illness", reason="medical_burden", evidence="medical_chronic", level="yellow",
                       message_zh="慢性病等医疗自付", message_en="chronic illness", amount=32000)  # fmt: skip


class Receiver:
    """A real HTTP server on a port of its own, keeping every request it gets (answered after `delay` seconds)."""

    def __init__(self, port: int, delay: float = 0.0):
        received: list[tuple[dict[str, str], bytes]] = []
        self.received = received
        self.arrived = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                length = int(self.headers["content-length"])
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request (a killed jobs process): nothing was delivered
                    return
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                outer.arrived.set()
                time.sleep(delay)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        outer = self
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def changes(self) -> list[dict]:
        return [json.loads(body)["change"] for _, body in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def wf(kafka_bootstrap, tmp_path_factory):
    folder = tmp_path_factory.mktemp("notifications")
    running = start_workflow_stack(kafka_bootstrap, folder, ALERTS_OUTBOX_CLAIM_IDLE_SECONDS="2")
    yield running
    running.stop()


def subscribe(wf, prefix: str, url: str) -> dict:
    body = {"region_prefix": prefix, "url": url, "secret": SECRET}
    response = httpx.post(f"{wf.stack.api_url}/subscriptions", json=body, headers=login(wf.stack))
    assert response.status_code == 201, response.text
    return response.json()


def test_a_county_subscription_gets_signed_webhooks_and_another_township_gets_none(wf):
    county, elsewhere = Receiver(free_port()), Receiver(free_port())
    try:
        names = {"file": ("names.csv", "532328101,元马镇\n532328101001,试点村委会\n".encode(), "text/csv")}
        job = httpx.post(f"{wf.stack.api_url}/regions/import", files=names, headers=login(wf.stack)).json()
        poll(f"{wf.stack.api_url}/regions/import/{job['id']}", login(wf.stack), lambda j: j["status"] == "done")
        subscribe(wf, "532328", f"http://127.0.0.1:{county.server.server_port}/hook")
        subscribe(wf, "532328102", f"http://127.0.0.1:{elsewhere.server.server_port}/hook")
        wf.publish(score("HNW1", "yellow", codes=("medical_burden",)).model_copy(update={"risk_type_proposals": [ILL]}))
        wf.publish(score("HNW1", "yellow", codes=("self_declared",)))  # evidence: shown, not pushed
        wf.publish(score("HNW1", "red"))  # yellow -> red notifies again
        wait_until(lambda: sorted(c["kind"] for c in county.changes()) == ["escalated", "raised"], 90, "two webhooks")
        for headers, body in county.received:
            assert Webhook(SECRET.encode()).verify(body, headers)["delivery_id"] == headers["webhook-id"]
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            assert headers["x-shouwang-signature"] == expected  # kept for receivers written before
        by_kind = {change["kind"]: change for change in county.changes()}
        assert by_kind["escalated"]["level"] == "red" and by_kind["escalated"]["household_id"] == "HNW1"
        assert by_kind["raised"]["risk_types"] == by_kind["escalated"]["risk_types"] == ["illness"]  # an added field
        assert {change["region_name"] for change in county.changes()} == {"元马镇 · 试点村"}  # an added field
        assert elsewhere.received == []
    finally:
        county.close()
        elsewhere.close()


def test_a_receiver_that_is_down_gets_the_delivery_later_and_admins_see_the_log(wf):
    port = free_port()
    sub = subscribe(wf, "532328103", f"http://127.0.0.1:{port}/hook")
    wf.publish(score("HNW2", region_code="532328103001"))
    admin, url = login(wf.stack), f"{wf.stack.api_url}/subscriptions/{sub['id']}/deliveries"
    failed = poll(url, admin, lambda log: any(entry["outcome"] == "failed" for entry in log))
    assert "delivery_id" in failed[0]
    receiver = Receiver(port)
    try:
        wait_until(lambda: [c["household_id"] for c in receiver.changes()] == ["HNW2"], 90, "the late delivery")
        log = poll(url, admin, lambda entries: entries[0]["outcome"] == "delivered")
        assert log[0]["status_code"] == "204"
    finally:
        receiver.close()
    worker = create_user(wf.stack, "hnw.worker", "township_worker", "532328103")
    assert httpx.get(url, headers=worker).status_code == 403


def test_the_live_stream_shows_only_changes_inside_the_callers_jurisdiction(wf):
    worker = create_user(wf.stack, "hns.worker", "township_worker", "532328104")
    events: list[dict] = []
    opened = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", f"{wf.stack.api_url}/alerts/stream", headers=worker, timeout=60) as response:
            opened.set()
            for line in response.iter_lines():
                if line.startswith("data:"):
                    events.append(json.loads(line[5:]))
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert opened.wait(30)
    wf.publish(score("HNS1", region_code="532328105001"))  # another township
    poll(f"{wf.stack.api_url}/alerts", login(wf.stack), lambda b: b["items"], household_id="HNS1")
    wf.publish(score("HNS2", region_code="532328104001"))
    listener.join(30)
    assert [(e["household_id"], e["kind"], e["inbox"]) for e in events] == [("HNS2", "raised", "532328104")]


def test_a_subscription_to_an_internal_address_is_refused_naming_the_url(wf):
    admin = login(wf.stack)
    for url in ("http://localhost:6379/", "http://169.254.169.254/latest/meta-data", "http://10.1.2.3/hook",
                "http://[::1]:8001/events", "http://0.0.0.0:8000/", "http://[::ffff:127.0.0.2]/"):  # fmt: skip
        body = {"region_prefix": "532328", "url": url, "secret": SECRET}
        refused = httpx.post(f"{wf.stack.api_url}/subscriptions", json=body, headers=admin)
        assert refused.status_code == 422, url
        assert refused.json()["detail"][0]["loc"] == ["body", "url"], url


def test_a_delivery_checks_the_address_again_and_never_posts_to_an_internal_one(wf):
    receiver = Receiver(free_port())
    try:
        sub = subscribe(wf, "532328106", f"http://127.0.0.1:{receiver.server.server_port}/hook")
        record = redis.Redis.from_url(wf.stack.redis_url, decode_responses=True)
        stored = json.loads(record.hget(f"subscription:{sub['id']}", "record"))
        stored["url"] = f"http://localhost:{receiver.server.server_port}/hook"  # as a name that now resolves inside
        record.hset(f"subscription:{sub['id']}", "record", json.dumps(stored))
        wf.publish(score("HNR1", region_code="532328106001"))
        url = f"{wf.stack.api_url}/subscriptions/{sub['id']}/deliveries"
        failed = poll(url, login(wf.stack), lambda log: log and log[0]["outcome"] == "failed")
        assert "loopback" in failed[0]["error"] and receiver.received == []
    finally:
        receiver.close()


def test_a_jobs_process_killed_mid_delivery_leaves_no_delivery_lost_and_repeats_only_under_the_same_id(wf):
    receiver = Receiver(free_port(), delay=1.5)
    try:
        subscribe(wf, "532328107", f"http://127.0.0.1:{receiver.server.server_port}/hook")
        households = [f"HNK{n}" for n in range(6)]
        wf.publish(*(score(h, region_code="532328107001") for h in households))
        assert receiver.arrived.wait(60), "no delivery started"
        wf.stack.processes["jobs"].kill()  # kill -9 while a request is in flight
        wf.stack.start("jobs")
        wait_until(lambda: {c["household_id"] for c in receiver.changes()} >= set(households), 120, "every delivery")
        ids = [headers["webhook-id"] for headers, _ in receiver.received]
        by_household = {}
        for (headers, _), change in zip(receiver.received, receiver.changes(), strict=True):
            by_household.setdefault(change["household_id"], set()).add(headers["webhook-id"])
        assert set(by_household) == set(households)
        assert all(len(delivery_ids) == 1 for delivery_ids in by_household.values()), by_household  # one id each
        assert len(ids) >= len(households)
    finally:
        receiver.close()


def test_changes_another_router_read_but_never_routed_are_claimed_and_delivered(wf):
    receiver = Receiver(free_port())
    try:
        subscribe(wf, "532328108", f"http://127.0.0.1:{receiver.server.server_port}/hook")
        wf.stack.processes["alerts"].stop()  # its router would route the change before the "dead" one reads it
        client = redis.Redis.from_url(wf.stack.redis_url, decode_responses=True)
        change = {"change_id": "orphan-1", "kind": "raised", "region_code": "532328108001", "household_id": "HNO1"}
        client.xadd("alerts:outbox", {"change": json.dumps(change)})
        client.xreadgroup("webhooks", "a-replaced-pod", {"alerts:outbox": ">"}, count=100)  # read, never acked
        wf.stack.start("alerts")
        wait_until(lambda: [c["change_id"] for c in receiver.changes()] == ["orphan-1"], 120, "the orphan delivered")
    finally:
        receiver.close()
