from datetime import UTC, datetime, timedelta

from bson import ObjectId

from app.lib.object_ids import new_object_ids


def test_ids_made_in_bulk_are_bsons_own_kind_and_never_repeat():
    before = ObjectId()
    ids = new_object_ids(1000)
    after = ObjectId()
    assert len(set(ids)) == 1000
    assert all(isinstance(oid, ObjectId) for oid in ids)
    # bson's counter was reserved: ids made one by one around them are not among them
    assert before not in ids and after not in ids
    counter = int.from_bytes(before.binary[9:], "big")
    expected = [(counter + 1 + i) % 0x1000000 for i in range(1001)]
    assert [int.from_bytes(oid.binary[9:], "big") for oid in [*ids, after]] == expected
    now = datetime.now(UTC)
    assert all(abs(oid.generation_time - now) < timedelta(seconds=5) for oid in ids)
    assert {oid.binary[4:9] for oid in ids} == {before.binary[4:9]}  # the process's random
