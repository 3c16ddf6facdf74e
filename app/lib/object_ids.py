"""ObjectIds made many at a time.

`ObjectId()` costs ~3 µs (a lock, the clock, a pid check and two packs per id), as much as
the AES-GCM of a card number. A batch of cards takes its ids here: one reservation of
`count` values of bson's own counter, one clock read, then bytes. The ids are laid out as
bson makes them (4-byte seconds, the process's 5 random bytes, a 3-byte counter), and the
counter is bson's, so they never repeat an id `ObjectId()` gives in this process.
"""

import struct
import time

from bson import ObjectId

_COUNTER = 0xFFFFFF + 1  # the counter's 3 bytes wrap here, as in bson


def new_object_ids(count: int) -> list[ObjectId]:
    with ObjectId._inc_lock:
        first = ObjectId._inc
        ObjectId._inc = (first + count) % _COUNTER
    head = struct.pack(">I5s", int(time.time()), ObjectId._random())
    return [ObjectId(head + ((first + i) % _COUNTER).to_bytes(3, "big")) for i in range(count)]
