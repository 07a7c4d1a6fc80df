"""The background encoder of a recording: one thread, at a lower priority, behind a bounded queue of pictures.

    t = EncoderThread(encoder, max_queued=4)   # encoder: a core.recording.formats FrameEncoder
    t.busy                                     # True while the queue is full (a new picture would wait)
    t.put(rgb, repeat)                         # queue a picture for `repeat` frame times; waits while busy
    t.extend(n)                                # the last picture queued stands for n more frame times; never waits
    t.finish()                                 # encode what is queued, close the encoder; re-raises its failure
    t.abort()                                  # stop at once (the file is being thrown away)

* The queue holds at most `max_queued` pictures (memory stays bounded); `extend` adds no picture, it lengthens
  the last one queued (or the encoder's last one), so a caller that finds the encoder `busy` can give the frames
  due the picture before them instead of waiting: no frame is lost and the clip keeps its length.
* The thread lowers its own priority by `nice` (Linux, where setpriority on a thread id acts on that thread
  only; elsewhere nothing is done), so on a busy machine the training process keeps its core and the encoder
  takes what is left.
* An encoder failure is kept (`failure`) and the thread keeps draining, so a caller never waits forever.
core/ never imports Qt.
"""

from __future__ import annotations

import collections
import os
import sys
import threading
import time

import numpy as np

ENCODER_NICE = 10  # how much lower the encoder thread's priority is than the process's (Linux)
_STOP = "stop"


def lower_thread_priority(by: int) -> None:
    """Raise the calling thread's nice value by `by` (at most 19); Linux only, never fails."""
    if not sys.platform.startswith("linux") or by <= 0:
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + by))
    except (OSError, AttributeError):  # not permitted, or no such call here: the thread keeps its priority
        pass


class EncoderThread:
    """Runs `encoder.write(rgb, repeat)` / `encoder.extend(n)` for queued items on one daemon thread."""

    def __init__(self, encoder, max_queued: int = 4, nice: int = ENCODER_NICE):
        self.encoder, self.limit, self.nice = encoder, max(1, int(max_queued)), nice
        self.failure: BaseException | None = None
        self._items: collections.deque = collections.deque()  # [rgb or None, frames] ... and _STOP
        self._pictures = 0  # pictures among the items
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="recording-encoder", daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        with self._cond:
            return self._pictures >= self.limit

    def put(self, rgb: np.ndarray, repeat: int) -> float:
        """Queue `rgb` (not copied: the caller hands it over) for `repeat` frame times; returns the seconds it
        waited for room."""
        waited = 0.0
        with self._cond:
            if self._pictures >= self.limit:
                t0 = time.monotonic()
                while self._pictures >= self.limit and self._thread.is_alive():
                    self._cond.wait(0.5)
                waited = time.monotonic() - t0
            self._items.append([rgb, repeat])
            self._pictures += 1
            self._cond.notify_all()
        return waited

    def extend(self, frames: int) -> None:
        """The last picture queued (or already encoded) stands for `frames` more frame times."""
        with self._cond:
            if self._items and self._items[-1] is not _STOP:
                self._items[-1][1] += frames
            else:
                self._items.append([None, frames])
            self._cond.notify_all()

    def _take(self):
        with self._cond:
            while not self._items:
                self._cond.wait()
            item = self._items.popleft()
            if item is not _STOP and item[0] is not None:
                self._pictures -= 1
            self._cond.notify_all()
            return item

    def _run(self) -> None:
        lower_thread_priority(self.nice)
        while True:
            item = self._take()
            if item is _STOP:
                if self.failure is None:
                    try:
                        self.encoder.close()
                    except Exception as e:
                        self.failure = e
                return
            if self.failure is None:  # after a failure keep draining, so `put` never waits forever
                rgb, frames = item
                try:
                    if rgb is None:
                        self.encoder.extend(frames)
                    else:
                        self.encoder.write(rgb, frames)
                except Exception as e:
                    self.failure = e

    def _stop(self) -> None:
        with self._cond:
            self._items.append(_STOP)
            self._cond.notify_all()
        self._thread.join()

    def finish(self) -> None:
        """Encode everything queued and close the encoder; raises the encoder's failure, if any."""
        self._stop()
        if self.failure is not None:
            raise self.failure

    def abort(self) -> None:
        """Stop without encoding what is queued (the encoder is not closed)."""
        if self._thread.is_alive():
            self.failure = self.failure or RuntimeError("stopped")
            with self._cond:
                self._items.clear()
                self._pictures = 0
            self._stop()
