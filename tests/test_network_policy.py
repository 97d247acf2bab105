"""The address policy's plain parts: host normalisation, private-address classification, the
offsite domain rule, and the bounded robots.txt cache (end to end: tests/reliability/
test_r2_network.py)."""
from __future__ import annotations

import ipaddress

import pytest

from crawler.addresses import host_in_domains, is_private_host, is_private_ip, normalize_host
from crawler.download import CheckedTCPEndpoint, RefusedAddress
from crawler.robots import MAX_ROBOTS_BYTES, RobotsCache, truncate_robots

PRIVATE = ["127.0.0.1", "１２７.０.０.２", "127。0.0.1", "０ｘ７ｆ０００００１", "2130706433", "[::1]",
           "::", "::127.0.0.1", "::ffff:127.0.0.1", "::ffff:0:127.0.0.1", "64:ff9b::7f00:1",
           "64:ff9b::a00:1", "64:ff9b:1::a9fe:a9fe", "2002:7f00:1::", "2002:a9fe:a9fe::",
           "100.64.0.1", "169.254.169.254", "10.1.2.3", "192.168.0.1", "224.0.0.1",
           "239.255.255.250", "ff02::1", "fe80::1", "fe80::1%eth0", "fc00::1", "240.0.0.1",
           "255.255.255.255", "0.0.0.0", "localhost", "LocalHost.", "a.localhost"]
PUBLIC = ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "64:ff9b::808:808", "2002:808:808::",
          "::ffff:8.8.8.8", "www.rudaw.net", "bücher.example"]


@pytest.mark.parametrize("host", PRIVATE)
def test_private_in_every_notation(host):
    assert is_private_host(host)


@pytest.mark.parametrize("host", PUBLIC)
def test_public_addresses_and_names_pass(host):
    assert not is_private_host(host)


def test_hosts_are_normalised_as_the_url_stack_connects():
    assert normalize_host("１２７.０.０.２") == "127.0.0.2"
    assert normalize_host("[::1]") == "::1"
    assert normalize_host("WWW.Example.COM.") == "www.example.com"
    assert normalize_host("bücher.example") == "xn--bcher-kva.example"


def test_offsite_rule_takes_subdomains_not_lookalikes():
    assert host_in_domains("www.rudaw.net", ["rudaw.net"])
    assert host_in_domains("RUDAW.NET.", ["rudaw.net"])
    assert not host_in_domains("evilrudaw.net", ["rudaw.net"])
    assert not host_in_domains("rudaw.net.evil.test", ["rudaw.net"])


def test_resolved_private_address_is_refused_unless_allowed():
    def choose(allow: bool, hosts: list[str]) -> ipaddress.IPv4Address:
        endpoint = CheckedTCPEndpoint(None, "intranet.test", 80, timeout=None,
                                      bind_address=None, allow_private=allow)
        return endpoint._choose(hosts)

    with pytest.raises(RefusedAddress, match=r"refused: intranet\.test resolves to private "
                                             r"address 127\.0\.0\.1"):
        choose(False, ["127.0.0.1"])
    assert str(choose(True, ["127.0.0.1"])) == "127.0.0.1"
    assert str(choose(False, ["10.0.0.1", "8.8.8.8"])) == "8.8.8.8"  # never the private one
    assert is_private_ip(ipaddress.ip_address("::ffff:10.0.0.1"))


def test_robots_txt_is_cut_at_500_kib_on_a_line_break():
    body = b"User-agent: *\n" + b"Disallow: /x/\n" * 100_000
    cut, truncated = truncate_robots(body)
    assert truncated and len(cut) <= MAX_ROBOTS_BYTES and cut.endswith(b"\n")
    assert truncate_robots(b"User-agent: *\n") == (b"User-agent: *\n", False)


def test_robots_cache_is_bounded_by_hosts_and_bytes():
    cache = RobotsCache(max_hosts=3, max_bytes=1000)
    for n in range(5):
        cache.put(f"h{n}", object(), 10)
    assert len(cache) == 3 and cache.get("h0") is None and cache.get("h4") is not None
    cache.put("big", object(), 990)
    assert cache.bytes <= 1000 and cache.get("big") is not None
