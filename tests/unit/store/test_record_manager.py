"""SQLRecordManager on SQLite and PostgreSQL (when CHANGEBOT_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import asyncio

import pytest

from bot.store.db import make_session_factory
from bot.store.record_manager import SQLRecordManager


@pytest.fixture
def manager(db_engine) -> SQLRecordManager:
    return SQLRecordManager("chroma/playbook", session_factory=make_session_factory(db_engine))


@pytest.fixture
def other(db_engine) -> SQLRecordManager:
    return SQLRecordManager("chroma/other", session_factory=make_session_factory(db_engine))


def test_update_then_exists(manager):
    assert manager.exists(["a", "b"]) == [False, False]
    manager.update(["a", "b"], group_ids=["faq.md", "faq.md"])
    assert manager.exists(["b", "zzz", "a"]) == [True, False, True]
    assert sorted(manager.list_keys()) == ["a", "b"]
    assert manager.count() == 2


def test_update_of_an_existing_key_refreshes_time_and_group(manager):
    manager.update(["a"], group_ids=["old.md"])
    first = manager.list_keys(group_ids=["old.md"])
    manager.update(["a"], group_ids=["new.md"])
    assert first == ["a"]
    assert manager.list_keys(group_ids=["old.md"]) == []
    assert manager.list_keys(group_ids=["new.md"]) == ["a"]
    assert manager.count() == 1


def test_list_keys_by_time_and_group(manager):
    manager.update(["a", "b"], group_ids=["one.md", "two.md"])
    middle = manager.get_time()
    manager.update(["c"], group_ids=["one.md"])
    assert sorted(manager.list_keys(before=middle)) == ["a", "b"]
    assert manager.list_keys(after=middle) == ["c"]
    assert sorted(manager.list_keys(group_ids=["one.md"])) == ["a", "c"]
    assert manager.list_keys(group_ids=["one.md"], before=middle) == ["a"]
    assert sorted(manager.list_keys(group_ids=["one.md", "two.md"])) == ["a", "b", "c"]
    assert manager.list_keys(group_ids=[]) == []
    assert len(manager.list_keys(limit=2)) == 2


def test_keys_without_group(manager):
    manager.update(["a", "b"])
    assert manager.keys_by_group() == {"": {"a", "b"}}
    assert manager.list_keys(group_ids=["x.md"]) == []


def test_delete_keys(manager):
    manager.update(["a", "b", "c"], group_ids=["x.md", "x.md", "y.md"])
    manager.delete_keys(["a", "c", "not-there"])
    assert manager.exists(["a", "b", "c"]) == [False, True, False]
    assert manager.keys_by_group() == {"x.md": {"b"}}
    manager.delete_keys([])
    assert manager.count() == 1


def test_many_keys_are_handled_in_batches(manager):
    keys = [f"key-{n:05d}" for n in range(1234)]
    manager.update(keys, group_ids=[f"doc-{n % 7}.md" for n in range(1234)])
    assert manager.count() == 1234
    assert all(manager.exists(keys))
    assert len(manager.list_keys(group_ids=["doc-0.md"])) == 177
    manager.delete_keys(keys[:1000])
    assert manager.count() == 234
    assert manager.exists(keys[999:1001]) == [False, True]


def test_namespaces_are_separate(manager, other):
    manager.update(["a"], group_ids=["x.md"])
    other.update(["a", "b"], group_ids=["x.md", "x.md"])
    assert manager.list_keys() == ["a"]
    assert other.count() == 2
    other.delete_keys(["a"])
    assert manager.exists(["a"]) == [True]
    other.clear()
    assert other.count() == 0
    assert manager.count() == 1


def test_fingerprint_changes_when_chunks_are_added_or_removed_only(manager):
    assert manager.fingerprint() == (0, 0)
    manager.update(["a"])
    first = manager.fingerprint()
    assert first[0] == 1
    manager.update(["a"])  # a no-change ingest refreshes the key: readers need not reload
    assert manager.fingerprint() == first
    manager.update(["b"])
    assert manager.fingerprint() != first
    manager.delete_keys(["a", "b"])
    assert manager.fingerprint() == (0, 0)


def test_time_is_monotonic_and_stored_precisely(manager):
    times = [manager.get_time() for _ in range(100)]
    assert times == sorted(times) and len(set(times)) == 100
    manager.update(["a"])
    stamp = manager.get_time()
    # A write right after must still sort after the stamp (double precision).
    manager.update(["b"])
    assert manager.list_keys(after=stamp) == ["b"]


def test_update_rejects_mismatched_groups(manager):
    with pytest.raises(ValueError):
        manager.update(["a", "b"], group_ids=["x.md"])
    assert manager.count() == 0


def test_update_refuses_to_go_back_in_time(manager):
    with pytest.raises(AssertionError, match="Time sync"):
        manager.update(["a"], time_at_least=manager.get_time() + 3600)
    assert manager.count() == 0


def test_empty_update_is_a_no_op(manager):
    manager.update([])
    assert manager.count() == 0


def test_async_api(manager):
    async def scenario():
        await manager.acreate_schema()
        await manager.aupdate(["a", "b"], group_ids=["x.md", "y.md"])
        found = await manager.aexists(["a", "c"])
        listed = await manager.alist_keys(group_ids=["y.md"])
        await manager.adelete_keys(["a"])
        return found, listed, await manager.alist_keys()

    assert asyncio.run(scenario()) == ([True, False], ["b"], ["b"])


def test_duplicate_keys_in_one_update(manager, db_engine, request):
    manager.update(["a", "a"], group_ids=["x.md", "y.md"])
    assert manager.list_keys() == ["a"]
