"""RememberingStore: one request's reads of an item made once, its writes passed on and never hidden."""

from __future__ import annotations

from tests.fakes.store import MemoryStore
from tximport.storage.kv import Delete, Put, RememberingStore


def test_reads_each_key_once_and_forgets_on_every_write() -> None:
    store = MemoryStore()
    store.write(Put({"pk": "p", "sk": "a", "v": 1}))
    reads = RememberingStore(store)
    assert [reads.get(("p", "a")) for _ in range(3)][-1] == {"pk": "p", "sk": "a", "v": 1}
    assert reads.get(("p", "missing")) is None and reads.get(("p", "missing")) is None
    assert store.reads == 2
    assert reads.get_many([("p", "a"), ("p", "missing"), ("p", "a")]) == [{"pk": "p", "sk": "a", "v": 1}]
    assert store.reads == 2  # both known, one found and one missing
    reads.write(Put({"pk": "p", "sk": "a", "v": 2}))
    assert reads.get(("p", "a"))["v"] == 2  # type: ignore[index]
    reads.put_many([{"pk": "p", "sk": "missing"}])
    assert [i["sk"] for i in reads.get_many([("p", "a"), ("p", "missing")])] == ["a", "missing"]
    reads.delete_many([("p", "a")])
    assert reads.get(("p", "a")) is None
    reads.transact([Put({"pk": "p", "sk": "a", "v": 3}), Delete(("p", "missing"))])
    assert reads.get(("p", "a"))["v"] == 3 and reads.get(("p", "missing")) is None  # type: ignore[index]
