"""A simulated board: LinkTop in Amaranth's simulator behind a pseudo-terminal.

The host side (``hdlgen run``, pyserial) opens ``board.port`` like a real
board's serial device; the bridge turns its bytes into UART bits on ``rx``
and the bits on ``tx`` back into bytes.
"""

from __future__ import annotations

import os
import pty
import select
import threading
import tty

from amaranth.sim import Simulator

from hdlgen.hdl.link import LinkTop


class SimulatedBoard:
    def __init__(self, circuit, divisor: int = 4) -> None:
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self.divisor = divisor
        self.dut = LinkTop(circuit, divisor, led_hold=8)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def __enter__(self) -> SimulatedBoard:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        os.close(self.master)
        os.close(self.slave)
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        try:
            sim = Simulator(self.dut)
            sim.add_clock(1e-6)
            sim.add_testbench(self._bench)
            sim.run()
        except BaseException as exc:  # reported by __exit__
            self.error = exc

    async def _bench(self, ctx) -> None:
        d = self.divisor
        bits: list[int] = []  # line levels still to drive on rx, one per cycle
        rx_state = None  # (cycle counter, bit index, shift) while receiving from tx
        cycle = 0
        while not self.stop.is_set():
            if not bits and cycle % 64 == 0 and select.select([self.master], [], [], 0)[0]:
                for byte in os.read(self.master, 256):
                    frame = [0] + [(byte >> i) & 1 for i in range(8)] + [1]
                    bits += [b for b in frame for _ in range(d)]
            ctx.set(self.dut.rx, bits.pop(0) if bits else 1)
            await ctx.tick()
            cycle += 1
            tx = ctx.get(self.dut.tx)
            if rx_state is None:
                if tx == 0:
                    rx_state = [d + d // 2, 0, 0]  # sample bit 0 in its middle
            else:
                rx_state[0] -= 1
                if rx_state[0] == 0:
                    if rx_state[1] < 8:
                        rx_state[2] |= tx << rx_state[1]
                        rx_state[1] += 1
                        rx_state[0] = d
                    else:
                        os.write(self.master, bytes([rx_state[2]]))
                        rx_state = None
