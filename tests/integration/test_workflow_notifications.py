"""Routing and notification: signed webhooks per township or county, retried until delivered; the live stream."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.clients import create_user, login
from tests.infra import free_port, wait_until
from tests.workflow_stack import poll, score, start_workflow_stack

pytestmark = pytest.mark.integration
SECRET = "a-webhook-secret-0123456789"


class Receiver:
    """A real HTTP server on a port of its own, keeping every request it gets."""

    def __init__(self, port: int):
        received: list[tuple[dict[str, str], bytes]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["content-length"]))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def changes(self) -> list[dict]:
        return [json.loads(body)["change"] for _, body in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def wf(kafka_bootstrap, tmp_path_factory):
    running = start_workflow_stack(kafka_bootstrap, tmp_path_factory.mktemp("notifications"))
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
        subscribe(wf, "532328", f"http://127.0.0.1:{county.server.server_port}/hook")
        subscribe(wf, "532328102", f"http://127.0.0.1:{elsewhere.server.server_port}/hook")
        wf.publish(score("HNW1", "yellow", codes=("medical_burden",)))
        wf.publish(score("HNW1", "yellow", codes=("self_declared",)))  # evidence: shown, not pushed
        wf.publish(score("HNW1", "red"))  # yellow -> red notifies again
        wait_until(lambda: sorted(c["kind"] for c in county.changes()) == ["escalated", "raised"], 90, "two webhooks")
        for headers, body in county.received:
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            assert headers["x-shouwang-signature"] == expected
        by_kind = {change["kind"]: change for change in county.changes()}
        assert by_kind["escalated"]["level"] == "red" and by_kind["escalated"]["household_id"] == "HNW1"
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
