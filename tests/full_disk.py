"""`FullDisk`: a file whose disk fills up after `room` bytes (OSError ENOSPC), for the recording tests that check a
full disk stops a recording with one message and leaves no partial file."""

from __future__ import annotations

import errno
import io


class FullDisk(io.RawIOBase):
    """A real temporary file at `path` that refuses writes past `room` bytes, as a full disk does."""

    def __init__(self, path, room):
        self.f, self.room = open(path, "w+b"), room

    def writable(self):
        return True

    def readable(self):
        return True

    def seekable(self):
        return True

    def write(self, b):
        if self.f.tell() + len(b) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.f.write(b)

    def read(self, n=-1):
        return self.f.read(n)

    def seek(self, pos, whence=0):
        return self.f.seek(pos, whence)

    def tell(self):
        return self.f.tell()

    def fileno(self):
        return self.f.fileno()

    def close(self):
        self.f.close()
        super().close()
