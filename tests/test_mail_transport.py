"""Delivering alerts: a real SMTP server on 127.0.0.1, TLS, failures, the outbox and Apprise."""
from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import json
import smtplib
import ssl
import threading
import traceback
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest

from crawler.alerts import Matcher, Recipient, Rule
from crawler.config import MailSettings
from crawler.mail import (ArticleView, OutboxTransport, SMTPTransport, TransportError,
                            compose_alert, transport_from_settings)
from testsupport.smtp_sink import SMTPSink

pytestmark = [
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
    pytest.mark.filterwarnings("ignore:Session.login_data is deprecated"),
    pytest.mark.filterwarnings("ignore:'imghdr' is deprecated"),      # inside apprise
]

RULE = Rule(name="raqqa", any=(("الرقة", "Raqqa"),), recipients=(Recipient("desk@example.org"),))
PASSWORD = "correct horse battery staple"


def alert(title: str = "روسيا: سنقصف عناصر داعش إذا حاولوا الفرار من الرقة",
          recipient: str = "desk@example.org", story: str = "story-1"):
    (match,) = Matcher([RULE]).match(title, "", language="ar", source="rok")
    view = ArticleView(title=title, url="https://rok.example/a/1", source="rok",
                       source_name="Rok Online", published_at="2017-06-01T14:05:00+03:00",
                       language="ar", body="", story_id=story)
    return compose_alert(match, view, sender="Chavder <alerts@chavder.example.net>",
                         recipient=recipient, also_reported_by=[])


@pytest.fixture
def sink():
    with SMTPSink() as server:
        yield server


def test_alert_arrives_with_decoded_subject_and_rtl_html(sink: SMTPSink):
    SMTPTransport(sink.host, sink.port, security="none").send(alert())
    (got,) = sink.messages
    assert got.rcpt_tos == ["desk@example.org"]
    assert got.mail_from == "alerts@chavder.example.net"
    assert got.subject == "[Chavder] raqqa: روسيا: سنقصف عناصر داعش إذا حاولوا الفرار من الرقة"
    html = got.body("html")
    assert 'dir="rtl"' in html and "<mark>الرقة</mark>" in html
    assert "Rok Online" in got.body("plain")


def test_hostile_title_adds_no_header_and_no_recipient(sink: SMTPSink):
    title = "الرقة <script>alert(1)</script>\r\nBcc: victim@example.org"
    SMTPTransport(sink.host, sink.port, security="none").send(alert(title))
    (got,) = sink.messages
    assert got.rcpt_tos == ["desk@example.org"]
    assert got.message["Bcc"] is None
    header_block = got.raw.split(b"\r\n\r\n")[0].split(b"\r\n")
    names = [line.split(b":")[0].lower() for line in header_block if not line[:1].isspace()]
    assert b"bcc" not in names and names.count(b"subject") == 1
    assert "<script>" not in got.body("html")
    assert "&lt;script&gt;" in got.body("html")


def test_login_and_a_refused_password_that_is_never_revealed():
    with SMTPSink(credentials=("chavder", PASSWORD)) as sink:
        SMTPTransport(sink.host, sink.port, "none", "chavder", PASSWORD).send(alert())
        assert len(sink.messages) == 1
        wrong = SMTPTransport(sink.host, sink.port, "none", "chavder", PASSWORD + "!")
        with pytest.raises(TransportError) as info:
            wrong.send(alert())
    err = info.value
    assert err.temporary is False and "535" in err.reason
    shown = str(err) + repr(err) + repr(wrong) + "".join(traceback.format_exception(err))
    assert PASSWORD not in shown and "horse" not in shown
    assert err.__cause__ is None and err.__suppress_context__


def test_server_outage_is_temporary_and_recovers():
    sink = SMTPSink().start()
    transport = SMTPTransport(sink.host, sink.port, security="none", timeout=5)
    sink.stop()
    with pytest.raises(TransportError) as info:
        transport.send(alert())
    assert info.value.temporary is True
    sink.start()
    try:
        transport.send(alert())
        assert len(sink.messages) == 1
    finally:
        sink.stop()


@pytest.mark.parametrize("reply,temporary", [("451 4.3.0 Try again later", True),
                                             ("554 5.7.1 Message rejected", False)])
def test_smtp_reply_codes_decide_whether_to_retry(sink: SMTPSink, reply: str, temporary: bool):
    sink.reply = reply
    with pytest.raises(TransportError) as info:
        SMTPTransport(sink.host, sink.port, security="none").send(alert())
    assert info.value.temporary is temporary
    assert reply.split()[0] in info.value.reason
    assert sink.messages == []


def test_starttls_is_required_when_configured(sink: SMTPSink):
    with pytest.raises(TransportError) as info:
        SMTPTransport(sink.host, sink.port, security="starttls").send(alert())
    assert info.value.temporary is False and "STARTTLS" in info.value.reason
    assert sink.messages == []


def test_password_is_not_sent_unencrypted_to_a_remote_relay(monkeypatch: pytest.MonkeyPatch):
    with SMTPSink(credentials=("chavder", PASSWORD)) as sink:
        real = smtplib.SMTP._get_socket
        # "mail.example.org" is answered by the local sink: what matters is the configured host
        monkeypatch.setattr(smtplib.SMTP, "_get_socket",
                            lambda self, host, port, timeout: real(self, sink.host, sink.port,
                                                                   timeout))
        with pytest.raises(TransportError) as info:
            SMTPTransport("mail.example.org", 25, "none", "chavder", PASSWORD).send(alert())
        assert sink.auth_attempts == [] and sink.messages == []
    assert info.value.temporary is False and "unencrypted" in info.value.reason


def _tls_contexts(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A throw-away self-signed certificate for 'localhost'/127.0.0.1: (server, client) contexts."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_delivery_and_untrusted_certificates(tmp_path: Path, security: str):
    server_ctx, client_ctx = _tls_contexts(tmp_path)
    with SMTPSink(tls_context=server_ctx, implicit_tls=security == "ssl",
                  credentials=("chavder", PASSWORD)) as sink:
        SMTPTransport(sink.host, sink.port, security, "chavder", PASSWORD,
                      ssl_context=client_ctx).send(alert())
        assert [m.rcpt_tos for m in sink.messages] == [["desk@example.org"]]
        with pytest.raises(TransportError) as info:     # system CAs do not trust this cert
            SMTPTransport(sink.host, sink.port, security, "chavder", PASSWORD,
                          timeout=5).send(alert())
    assert info.value.temporary is False and "not trusted" in info.value.reason
    assert len(sink.messages) == 1


def test_outbox_writes_one_file_per_message_id(tmp_path: Path):
    outbox = OutboxTransport(tmp_path / "outbox")
    first = alert()
    outbox.send(first)
    outbox.send(alert())                                          # a retry: same Message-ID
    files = sorted((tmp_path / "outbox").iterdir())
    assert [f.name for f in files] == [first["Message-ID"].strip("<>") + ".eml"]
    saved = message_from_bytes(files[0].read_bytes(), policy=default_policy)
    assert saved["Subject"] == str(first["Subject"]) and saved["To"] == "desk@example.org"
    outbox.send(alert(recipient="other@example.org"))
    outbox.send(alert(story="story-2"))
    names = [f.name for f in (tmp_path / "outbox").iterdir()]
    assert len(names) == 3 and all(n.endswith(".eml") and not n.startswith(".") for n in names)


def test_outbox_needs_a_message_id(tmp_path: Path):
    msg = alert()
    del msg["Message-ID"]
    with pytest.raises(TransportError) as info:
        OutboxTransport(tmp_path).send(msg)
    assert info.value.temporary is False


def test_transport_from_settings(tmp_path: Path):
    outbox = transport_from_settings(MailSettings(), tmp_path)
    assert isinstance(outbox, OutboxTransport) and outbox.directory == tmp_path / "outbox"
    smtp = transport_from_settings(
        MailSettings(smtp_host="127.0.0.1", smtp_port=2525, security="none", username="chavder"),
        tmp_path, environ={"CHAVDER_SMTP_PASSWORD": PASSWORD})
    assert isinstance(smtp, SMTPTransport) and (smtp.host, smtp.port) == ("127.0.0.1", 2525)
    assert PASSWORD not in repr(smtp)
    secret = tmp_path / "smtp-password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    with SMTPSink(credentials=("chavder", PASSWORD)) as sink:
        from_file = transport_from_settings(
            MailSettings(smtp_host=sink.host, smtp_port=sink.port, security="none",
                         username="chavder", password_file=str(secret)), tmp_path, environ={})
        from_file.send(alert())
        assert len(sink.messages) == 1
    with pytest.raises(ValueError, match="password"):
        transport_from_settings(MailSettings(smtp_host="127.0.0.1", username="chavder"),
                                tmp_path, environ={})


class _Hook(http.server.BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):   # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_apprise_delivers_subject_and_text_to_a_local_webhook():
    pytest.importorskip("apprise")
    from crawler.mail import AppriseTransport, transport_for

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"json://127.0.0.1:{server.server_address[1]}/hook"
        transport = transport_for(Recipient(url, kind="apprise"), OutboxTransport("unused"))
        assert isinstance(transport, AppriseTransport) and "127.0.0.1" not in repr(transport)
        transport.send(alert(recipient="apprise:" + url))
    finally:
        server.shutdown()
        server.server_close()
    (payload,) = _Hook.received
    assert payload["title"].startswith("[Chavder] raqqa: روسيا")
    assert "Rok Online" in payload["message"]


def test_apprise_recipient_without_the_package_fails_permanently(monkeypatch: pytest.MonkeyPatch):
    import sys

    from crawler.mail import AppriseTransport

    monkeypatch.setitem(sys.modules, "apprise", None)        # as if it were not installed
    transport = AppriseTransport("tgram://123456:SECRET/-100")
    with pytest.raises(TransportError) as info:
        transport.send(alert(recipient="apprise:tgram://123456:SECRET/-100"))
    assert info.value.temporary is False and "pip install apprise" in info.value.reason
    assert "SECRET" not in repr(transport) + str(info.value)
