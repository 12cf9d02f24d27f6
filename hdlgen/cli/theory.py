"""``hdlgen bound`` and ``hdlgen construct``."""

from __future__ import annotations

import click

from hdlgen.cli.announce import announce
from hdlgen.cli.common import circuit_argument, emit_json, load_circuit, progress_bar
from hdlgen.errors import CheckError

__all__ = ["COMMANDS"]


@click.command("bound")
@circuit_argument
@click.option(
    "--partition",
    type=click.Choice(["natural", "all"]),
    default="natural",
    show_default=True,
    help="natural: first half of the input bits against the rest; all: the maximum over all partitions.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bound_command(file: str, partition: str, as_json: bool) -> None:
    """Check Theorem 1: log2 rk(f) <= e d (log2 s + log2 w + log2 n), for every output.

    Exit status 1 when a threshold circuit's output violates the bound.
    """
    from hdlgen.analysis.bound import theorem1

    circuit = load_circuit(file)
    with progress_bar("partitions") as progress:
        checks = theorem1(circuit, partition=partition, progress=progress)
    tightest = min(checks, key=lambda c: c.slack)
    skipped = [o for o in circuit.outputs if circuit.signal_bits(o) != 1]
    holds = None if any(c.holds is None for c in checks) else all(c.holds for c in checks)
    data = {
        "rank": tightest.rank,
        "log2_rank": tightest.log2_rank,
        "rhs": tightest.rhs,
        "holds": holds,
        "output": tightest.output,
        "partition": partition,
        "outputs": [c.to_dict() for c in checks],
        "skipped_outputs": skipped,
    }
    if as_json:
        emit_json(data)
    else:
        for c in checks:
            verdict = {True: "holds", False: "VIOLATED", None: "relu: asymptotic, not judged"}[c.holds]
            click.echo(
                f"{c.output}: log2 rk = {c.log2_rank:.4f} (rk {c.rank}) <= {c.rhs:.4f} "
                f"[e={c.energy} d={c.depth} s={c.size} w={c.weight} n={c.n}]: {verdict}"
            )
        if any(c.holds is None for c in checks):
            click.echo(
                "not judged: with relu gates the theorem is only asymptotic, "
                "log rk = O(e d (log s + log w + log n)^3); the right-hand side shown is that expression"
            )
        if skipped:
            click.echo(
                f"left out: {', '.join(skipped)}: multi-bit relu outputs are not Boolean "
                "functions, and Theorem 1 is about f: {0,1}^n -> {0,1}"
            )
    if holds is False:
        bad = next(c for c in checks if c.holds is False)
        raise CheckError(f"Theorem 1 violated at output '{bad.output}': {bad.log2_rank:.4f} > {bad.rhs:.4f}")


output_option = click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Circuit file to write.",
)


@click.group("construct")
def construct_group() -> None:
    """Build circuits from the theory's constructions (C1-C5, described in docs/theory.md)."""


@construct_group.command("cd")
@click.option("--n", "n", type=int, required=True, help="Number of inputs (even).")
@click.option("--energy", type=int, required=True, help="Energy bound e >= 2.")
@click.option("--depth", type=int, required=True, help="Depth bound d >= 2.")
@output_option
def construct_cd(n: int, energy: int, depth: int, output: str) -> None:
    """CD_n at energy e and depth d (C1)."""
    from hdlgen.constructions import cd_circuit

    cd_circuit(n, energy, depth).save(output)
    announce(output)


@construct_group.command("mod")
@click.option("--n", "n", type=int, required=True, help="Number of inputs.")
@click.option("--m", "m", type=int, required=True, help="Modulus m >= 2.")
@click.option("--energy", type=int, required=True, help="Energy bound e >= 2.")
@output_option
def construct_mod(n: int, m: int, energy: int, output: str) -> None:
    """MOD_m (sum of inputs divisible by m) at energy e (C3)."""
    from hdlgen.constructions import mod_circuit

    mod_circuit(n, m, energy).save(output)
    announce(output)


@construct_group.command("energy1")
@click.option("--function", "function", type=click.Choice(["cd", "mod", "parity", "or", "and"]), required=True)
@click.option("--n", "n", type=int, required=True, help="Number of inputs.")
@click.option("--m", "m", type=int, default=None, help="Modulus, for --function mod.")
@output_option
def construct_energy1(function: str, n: int, m: int | None, output: str) -> None:
    """Any function at energy 1: one detector per zero (C2)."""
    from hdlgen.constructions import energy1_circuit, named_table

    table = named_table(function, n, m)
    name = f"{function}{m if function == 'mod' else ''}_n{n}_e1"
    energy1_circuit(table, n, name=name).save(output)
    announce(output)


@construct_group.command("unt")
@circuit_argument
@output_option
def construct_unt(file: str, output: str) -> None:
    """Energy-to-depth transform of a threshold circuit: depth <= 2e+1, size 2es+1 (C4)."""
    from hdlgen.constructions import unt_circuit

    unt_circuit(load_circuit(file)).save(output)
    announce(output)


@construct_group.command("threshold")
@circuit_argument
@output_option
def construct_threshold(file: str, output: str) -> None:
    """A relu circuit as a threshold circuit, bits MSB first; b-bit outputs become <name>_b0.. (C5)."""
    from hdlgen.constructions import relu_to_threshold

    relu_to_threshold(load_circuit(file)).save(output)
    announce(output)


COMMANDS = [bound_command, construct_group]
