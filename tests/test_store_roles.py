"""Each storage backend implements each role of crawler.store.roles, method by method.

A backend that lacks a role method (or takes other arguments than the role says) fails here,
not in the middle of a crawl: the roles are what the pipeline, dedup, the alert sweep, the
digest service and the CLI call, so every method must exist on the class itself — not be
inherited as a Protocol stub, not be forwarded by ``__getattr__``.
"""
from __future__ import annotations

import inspect
import typing

import pytest

from crawler.dedup.memory import MemoryStories
from crawler.store import roles
from crawler.store.elasticsearch import ElasticsearchStore
from crawler.store.sqlite import SQLiteStore

BACKENDS = [SQLiteStore, ElasticsearchStore]


def role_members(role: type) -> list[str]:
    """The methods and properties a role (and the roles it extends) declares."""
    names: set[str] = set()
    for base in role.__mro__:
        if base is typing.Protocol or base is typing.Generic or base is object:
            continue
        if getattr(base, "_is_protocol", False):
            names |= {n for n, v in vars(base).items()
                      if not n.startswith("_") and (callable(v) or isinstance(v, property))}
    return sorted(names)


def implementation(cls: type, name: str):
    """The function that really answers ``cls.name`` (decorators unwrapped), or None when the
    class only inherits the role's own stub."""
    attr = inspect.getattr_static(cls, name, None)
    if isinstance(attr, property):
        attr = attr.fget
    if attr is None:
        return None
    func = inspect.unwrap(attr)
    return None if func.__module__ == roles.__name__ else func


def accepts(impl_sig: inspect.Signature, role_sig: inspect.Signature) -> list[str]:
    """Why a call written against ``role_sig`` would fail on ``impl_sig`` (empty: it works)."""
    problems = []
    impl = dict(impl_sig.parameters)
    var_kw = any(p.kind is p.VAR_KEYWORD for p in impl.values())
    for name, p in role_sig.parameters.items():
        q = impl.get(name)
        if q is None:
            if not (var_kw and p.kind is p.KEYWORD_ONLY):
                problems.append(f"no parameter {name!r}")
            continue
        if q.kind != p.kind and not (p.kind is p.KEYWORD_ONLY and
                                     q.kind is q.POSITIONAL_OR_KEYWORD):
            problems.append(f"{name!r} is {q.kind.description}, the role says "
                            f"{p.kind.description}")
        if p.default is not p.empty and q.default is q.empty:
            problems.append(f"{name!r} has no default")
    role_names = set(role_sig.parameters)
    for name, q in impl.items():
        if name not in role_names and q.default is q.empty and \
                q.kind not in (q.VAR_POSITIONAL, q.VAR_KEYWORD):
            problems.append(f"extra required parameter {name!r}")
    return problems


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("role", roles.ROLES, ids=lambda r: r.__name__)
def test_backend_implements_every_method_of_the_role(backend, role):
    missing, wrong = [], []
    for name in role_members(role):
        impl = implementation(backend, name)
        if impl is None:
            missing.append(name)
            continue
        if isinstance(inspect.getattr_static(role, name), property):
            continue
        why = accepts(inspect.signature(impl), inspect.signature(getattr(role, name)))
        if why:
            wrong.append(f"{name}: {'; '.join(why)}")
    assert not missing, f"{backend.__name__} lacks {role.__name__} methods: {missing}"
    assert not wrong, f"{backend.__name__} {role.__name__} signatures differ: {wrong}"


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda c: c.__name__)
def test_backend_declares_the_store_and_forwards_nothing_implicitly(backend):
    assert roles.Store in backend.__mro__      # declared, so a type checker holds it to it
    assert "__getattr__" not in vars(backend)


def test_the_elasticsearch_store_implements_its_spooled_index():
    for name in role_members(roles.SpooledIndex):
        assert implementation(ElasticsearchStore, name) is not None, name
        assert not accepts(inspect.signature(getattr(ElasticsearchStore, name)),
                           inspect.signature(getattr(roles.SpooledIndex, name))), name


def test_every_role_is_part_of_the_store_union():
    # the web interface's roles (issue 19) are checked like every other
    assert {roles.Attention, roles.Revisions} <= set(roles.ROLES)
    members = set(role_members(roles.Store))
    for role in roles.ROLES:
        assert set(role_members(role)) <= members, role.__name__


def test_a_live_sqlite_store_passes_the_runtime_checks_of_every_role(tmp_path):
    store = SQLiteStore(tmp_path / "s.db")
    try:
        for role in roles.ROLES:
            assert isinstance(store, role), role.__name__
    finally:
        store.close()


def test_the_in_memory_reference_implements_the_story_lookup():
    assert implementation(MemoryStories, "by_url_key") is not None
    assert isinstance(MemoryStories(), roles.StoryLookup)


def test_the_check_fails_for_a_backend_missing_a_method():
    """The check itself: a class that leaves out one role method is caught."""
    class Partial(roles.CrawlState):
        def http_validators(self, url: str) -> tuple[str | None, str | None]:
            return None, None

    assert implementation(Partial, "http_validators") is not None
    assert implementation(Partial, "record_fetch_error") is None
    sig = inspect.signature(roles.CrawlState.recent_failures)
    assert accepts(inspect.signature(lambda self, urls: {}), sig) == [
        "no parameter 'since'", "no parameter 'ignore_prefix'"]
