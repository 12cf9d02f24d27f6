"""The ``hdlgen`` command line: a thin layer over the Python API.

Exit status: 0 on success, 1 when a check the command ran failed, 2 on bad
input or usage (one line on stderr, no traceback unless ``--debug``).
"""

from __future__ import annotations

import sys
import traceback

import click

from hdlgen import __version__
from hdlgen.cli.common import one_line
from hdlgen.errors import CheckError, CircuitError, ToolError, UsageError

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="hdlgen")
@click.option("--debug", is_flag=True, help="Show a traceback on errors.")
@click.option("-q", "--quiet", is_flag=True, help="Do not say on stderr where files were written.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, quiet: bool) -> None:
    """Sparse threshold and ReLU circuits to low-energy FPGA hardware."""
    ctx.obj = {"debug": debug, "quiet": quiet}


def _register() -> None:
    from hdlgen.cli import analyze, boards, hardware, learn, power, simulate, theory

    commands = [
        *analyze.COMMANDS,
        *hardware.COMMANDS,
        *simulate.COMMANDS,
        *theory.COMMANDS,
        *boards.COMMANDS,
        *learn.COMMANDS,
        *power.COMMANDS,
    ]
    for command in commands:
        cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        rv = cli.main(args=args, prog_name="hdlgen", standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        click.echo("hdlgen: aborted", err=True)
        return 130
    except click.ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "hdlgen"
        click.echo(f"{where}: error: {one_line(exc.format_message())}", err=True)
        return 2
    except (CircuitError, UsageError, ToolError) as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"hdlgen: error: {one_line(exc)}{_flag_of(exc, args)}", err=True)
        return 2
    except CheckError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"hdlgen: check failed: {one_line(exc)}", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("hdlgen: interrupted", err=True)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug in hdlgen, not a user mistake
        if debug:
            traceback.print_exc()
        click.echo(
            f"hdlgen: internal error: {type(exc).__name__}: {one_line(exc)} (rerun with --debug for a traceback)",
            err=True,
        )
        return 3


def _flag_of(exc: Exception, args: list[str]) -> str:
    """`` (--flag)`` for a usage error whose parameter a flag of the command in ``args`` sets, else ``""``.

    A hardware option (``clock_enables``) is set through ``--option NAME=VALUE``; a parameter that no
    flag of the command sets (a library-only one) gets no hint rather than a flag that does not exist.
    """
    parameter = getattr(exc, "parameter", None)
    if not isinstance(exc, UsageError) or not parameter:
        return ""
    command: click.Command = cli
    for arg in args:
        if isinstance(command, click.Group) and arg in command.commands:
            command = command.commands[arg]
    options = [p for p in command.params if isinstance(p, click.Option)]
    flag = f"--{parameter.replace('_', '-')}"
    for option in options:
        if option.name == parameter or flag in option.opts:
            return f" ({max(option.opts, key=len)})"
    if any(option.name == "hdl_options" for option in options):
        from hdlgen.cli.hardware import HDL_OPTIONS

        if parameter in HDL_OPTIONS:
            return f" (--option {parameter}=...)"
    return ""


def entry_point() -> None:
    """Console-script entry point."""
    sys.exit(main())
