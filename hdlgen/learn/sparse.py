"""Training sparse, low-activity networks whose integer form is the circuit.

The network: hidden layers of threshold or relu gates, then one relu gate per
class whose largest output is the prediction. Training runs in NumPy (Adam,
mini-batches) with the hardware's arithmetic in the forward pass, so that the
exported circuit computes what was trained:

- threshold layers: per-gate weight scale to ``weight_bits`` signed integers
  (``round(w * s)``), firing when ``sum >= ceil(-b * s)``; the step's
  gradient is a sigmoid surrogate (straight-through estimator);
- relu layers: weights rounded to integers, output ``min(max(0, S - T),
  2**act_bits - 1)`` exactly as the gate computes it;
- the output layer: one weight scale for all classes (the argmax must not
  change), then a common offset ``t0`` so that only strong scores stay
  nonzero: the smallest offset costs no accuracy, the largest one chosen
  costs at most 0.3% training accuracy and makes most output gates silent.

Sparsity: every gate keeps at most ``fan_in`` connections (an l0 budget).
After a dense warm-up, the budget tightens linearly to ``fan_in`` by
keeping each gate's largest-magnitude weights; pruned weights may return
while the mask is still moving. Activity: ``energy_penalty`` times the
expected fraction of hidden gates firing (their sigmoid surrogate) is added to
the cross-entropy. Gates left with no inputs become constants folded into the
next layer, gates whose output nobody reads are dropped.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from hdlgen.errors import CircuitError, UsageError
from hdlgen.ir.circuit import Circuit
from hdlgen.ir.classify import CLASSES_KEY, predict
from hdlgen.ir.vectors import seeded_rng

__all__ = ["TrainConfig", "TrainedNetwork", "train_network"]

Kind = Literal["threshold", "relu"]


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of :func:`train_network`.

    Attributes
    ----------
    kind : {"threshold", "relu"}
        Kind of the hidden gates.
    hidden : tuple of int
        Gates per hidden layer.
    fan_in : int
        Most connections per gate (every layer, outputs included).
    energy_penalty : float
        Weight of the expected fraction of firing hidden gates in the loss.
    weight_bits : int
        Signed weight width of threshold layers and of the output layer.
    relu_weight_max : int
        Largest weight magnitude of relu hidden layers.
    act_bits : int
        Output width of relu hidden gates.
    epochs, batch_size, learning_rate : int, int, float
        Adam on mini-batches (cosine-decayed learning rate).
    validation : float
        Fraction of the training data held out to pick the best epoch once
        the fan-in mask has settled (0: keep the last epoch).
    seed : int
        Initialization and batch order.
    output_fan_in : int or None
        Most connections per output gate (None: ``fan_in``).
    distillation : float
        Weight ``a`` of a teacher's soft targets ``q`` (``soft_targets`` of
        :func:`train_network`): the cross-entropy is taken against
        ``(1 - a) * onehot(y) + a * q`` (G. Hinton, O. Vinyals, J. Dean,
        "Distilling the Knowledge in a Neural Network", NIPS Deep Learning
        Workshop, 2015).

    The last two are recorded in the circuit's ``meta["training"]`` only when
    they differ from their defaults.
    """

    kind: Kind = "threshold"
    hidden: tuple[int, ...] = (64,)
    fan_in: int = 16
    energy_penalty: float = 0.0
    weight_bits: int = 4
    relu_weight_max: int = 3
    act_bits: int = 2
    epochs: int = 80
    batch_size: int = 64
    learning_rate: float = 0.01
    validation: float = 0.0
    seed: int = 0
    output_fan_in: int | None = None
    distillation: float = 0.0

    def check(self) -> None:
        """Raise :class:`~hdlgen.errors.UsageError` on out-of-range values."""
        if self.kind not in ("threshold", "relu"):
            raise UsageError(f"kind must be 'threshold' or 'relu', not {self.kind!r}")
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise UsageError(f"hidden layers must have at least one gate each, not {self.hidden}")
        if self.fan_in < 1:
            raise UsageError(f"fan-in must be at least 1, not {self.fan_in}")
        if self.energy_penalty < 0 or not math.isfinite(self.energy_penalty):
            raise UsageError(f"energy penalty must be a finite number >= 0, not {self.energy_penalty}")
        if not 2 <= self.weight_bits <= 16:
            raise UsageError(f"weight bits must be between 2 and 16, not {self.weight_bits}")
        if not 1 <= self.act_bits <= 16:
            raise UsageError(f"activation bits must be between 1 and 16, not {self.act_bits}")
        if self.output_fan_in is not None and self.output_fan_in < 1:
            raise UsageError(f"output fan-in must be at least 1, not {self.output_fan_in}")
        if not 0 <= self.distillation <= 1:
            raise UsageError(f"distillation weight must be in [0, 1], not {self.distillation}")
        if not 0 <= self.validation < 1:
            raise UsageError(f"validation fraction must be in [0, 1), not {self.validation}")
        if self.epochs < 1 or self.batch_size < 1 or self.learning_rate <= 0:
            raise UsageError("epochs and batch size must be >= 1 and the learning rate > 0")


@dataclass
class TrainedNetwork:
    """What :func:`train_network` returns.

    Attributes
    ----------
    circuit : Circuit
        The integer network: hidden layers ``h<l>_<j>``, outputs ``o<c>``.
    config : TrainConfig
    train_accuracy : float
        Of the circuit (the reference model) on the training data.
    history : list of dict
        Per epoch: loss, the float model's training accuracy, firing fraction, kept connections.
    pruned : dict of str to int
        Hidden gates removed after training: ``no_inputs`` (every weight
        rounded to zero or cut by the fan-in budget: a constant, folded into
        its readers), ``unread`` (no gate of the next layer keeps a
        connection to it), and ``kept``.
    used_inputs : list of int
        Indices (columns of the training data) of the inputs the circuit has.
    """

    circuit: Circuit
    config: TrainConfig
    train_accuracy: float
    history: list[dict[str, float]] = field(default_factory=list)
    pruned: dict[str, int] = field(default_factory=dict)
    used_inputs: list[int] = field(default_factory=list)


class _Adam:
    def __init__(self, params: list[np.ndarray], lr: float) -> None:
        self.params, self.lr, self.t = params, lr, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        b1, b2 = 0.9, 0.999
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= self.lr * (m / (1 - b1**self.t)) / (np.sqrt(v / (1 - b2**self.t)) + 1e-8)


def _top_k_mask(W: np.ndarray, k: int) -> np.ndarray:
    """Keep the ``k`` largest-magnitude weights of each column (gate)."""
    if k >= W.shape[0]:
        return np.ones_like(W)
    idx = np.argpartition(-np.abs(W), k - 1, axis=0)[:k]
    mask = np.zeros_like(W)
    np.put_along_axis(mask, idx, 1.0, axis=0)
    return mask


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


class _Net:
    """The float model with the hardware's quantization in its forward pass."""

    BETA = 2.0  # slope of the threshold surrogate (pre-activations start near unit variance)

    def __init__(self, cfg: TrainConfig, n_in: int, n_classes: int, x_rms: float, rng: np.random.Generator) -> None:
        self.cfg = cfg
        sizes = [n_in, *cfg.hidden, n_classes]
        self.W: list[np.ndarray] = []
        self.b: list[np.ndarray] = []
        act_max = (1 << cfg.act_bits) - 1
        for i, (a, b) in enumerate(itertools.pairwise(sizes)):
            fan = min(a, cfg.fan_in)
            rms = x_rms if i == 0 else (0.5 if cfg.kind == "threshold" else act_max / 2)
            if cfg.kind == "relu" and i < len(cfg.hidden):
                std = max(act_max, 1) / (rms * math.sqrt(fan))
                bias = np.full(b, act_max / 2)
            else:
                std = 1.0 / (rms * math.sqrt(fan))
                bias = np.zeros(b)
            self.W.append(rng.normal(0.0, std, size=(a, b)))
            self.b.append(bias)
        self.masks = [np.ones_like(W) for W in self.W]

    @property
    def params(self) -> list[np.ndarray]:
        return [*self.W, *self.b]

    def quantized(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Layer ``i``'s integer weights, the scale per gate, and the float weights they stand for."""
        cfg = self.cfg
        W = self.W[i] * self.masks[i]
        hidden = i < len(cfg.hidden)
        if hidden and cfg.kind == "relu":
            q = np.clip(np.round(W), -cfg.relu_weight_max, cfg.relu_weight_max)
            return q, np.ones(W.shape[1]), q
        qmax = (1 << (cfg.weight_bits - 1)) - 1
        peak = np.abs(W).max(axis=0) if hidden else np.full(W.shape[1], np.abs(W).max())
        scale = qmax / np.maximum(peak, 1e-12)
        q = np.round(W * scale)
        return q, scale, q / scale

    def forward(self, X: np.ndarray) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]]:
        """Logits, and per layer ``(input, pre-activation, output, quantized weights)`` for the backward pass."""
        cfg = self.cfg
        a = X
        cache = []
        act_max = (1 << cfg.act_bits) - 1
        for i in range(len(cfg.hidden)):
            _, _, Wf = self.quantized(i)
            if cfg.kind == "relu":
                z = a @ Wf + np.round(self.b[i])
                out = np.clip(z, 0, act_max)
            else:
                z = a @ Wf + self.b[i]
                out = (z >= 0).astype(np.float64)
            cache.append((a, z, out, Wf))
            a = out
        _, _, Wf = self.quantized(len(cfg.hidden))
        logits = a @ Wf + self.b[-1]
        cache.append((a, logits, logits, Wf))
        return logits, cache

    def loss_and_grads(
        self, X: np.ndarray, y: np.ndarray, soft: np.ndarray | None = None
    ) -> tuple[float, float, float, list[np.ndarray]]:
        cfg = self.cfg
        logits, cache = self.forward(X)
        n = X.shape[0]
        shifted = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(shifted)
        p /= p.sum(axis=1, keepdims=True)
        acc = float((logits.argmax(axis=1) == y).mean())
        if soft is None or not cfg.distillation:
            loss = float(-np.log(p[np.arange(n), y] + 1e-12).mean())
            d = p
            d[np.arange(n), y] -= 1
        else:
            target = cfg.distillation * soft
            target[np.arange(n), y] += 1 - cfg.distillation
            loss = float(-(target * np.log(p + 1e-12)).sum(axis=1).mean())
            d = p - target
        d /= n
        gW = [np.zeros_like(W) for W in self.W]
        gb = [np.zeros_like(b) for b in self.b]
        L = len(cfg.hidden)
        total_hidden = sum(cfg.hidden)
        firing = 0.0
        a, _, _, Wf = cache[L]
        gW[L] = (a.T @ d) * self.masks[L]
        gb[L] = d.sum(axis=0)
        da = d @ Wf.T
        for i in range(L - 1, -1, -1):
            a_in, z, out, Wf = cache[i]
            if cfg.kind == "relu":
                act_max = (1 << cfg.act_bits) - 1
                dz = da * np.where((z > -1) & (z < act_max + 1), 1.0, 0.05)
                soft = _sigmoid(self.BETA * (z - 0.5))
            else:
                soft = _sigmoid(self.BETA * z)
                dz = da * self.BETA * soft * (1 - soft)
            firing += float(out.astype(bool).sum()) / n
            if cfg.energy_penalty:
                loss += cfg.energy_penalty * float(soft.sum()) / n / total_hidden
                dz = dz + cfg.energy_penalty * self.BETA * soft * (1 - soft) / n / total_hidden
            gW[i] = (a_in.T @ dz) * self.masks[i]
            gb[i] = dz.sum(axis=0)
            if i:
                da = dz @ Wf.T
        return loss, acc, firing / total_hidden, [*gW, *gb]


def _fold_and_prune(layers: list[dict[str, Any]]) -> dict[str, int]:
    """Fold gates without inputs into the next layer and drop gates nobody reads (in place).

    Returns the number of hidden gates dropped for each reason (``no_inputs``, ``unread``).
    """
    counts = {"no_inputs": 0, "unread": 0}
    changed = True
    while changed:
        changed = False
        for i in range(len(layers) - 1):
            lay, nxt = layers[i], layers[i + 1]
            W, T = lay["W"], lay["T"]
            dead_in = ~W.any(axis=0)
            dead_out = ~nxt["W"].any(axis=1)
            drop = dead_in | dead_out
            if not drop.any():
                continue
            for j in np.flatnonzero(dead_in & ~dead_out):
                # A gate with no inputs outputs f(0 - T): fold the constant into the readers.
                value = (1 if 0 >= T[j] else 0) if lay["kind"] == "threshold" else min(max(0, -T[j]), lay["max"])
                nxt["T"] = nxt["T"] - value * nxt["W"][j]
            counts["no_inputs"] += int(dead_in.sum())
            counts["unread"] += int((dead_out & ~dead_in).sum())
            keep = ~drop
            lay["W"], lay["T"] = W[:, keep], T[keep]
            nxt["W"] = nxt["W"][keep]
            changed = True
    return counts


def _output_offset(scores: np.ndarray, y: np.ndarray) -> int:
    """The largest common offset whose clamping costs at most 0.3% training accuracy."""
    best = float((scores.argmax(axis=1) == y).mean())
    lo = int(scores.min()) - 1
    chosen = lo
    for q in np.unique(np.quantile(scores, np.linspace(0.5, 0.999, 60)).astype(np.int64)):
        acc = float((np.maximum(scores - int(q), 0).argmax(axis=1) == y).mean())
        if acc >= best - 0.003:
            chosen = max(chosen, int(q))
    return chosen


def train_network(
    X: np.ndarray,
    y: np.ndarray,
    config: TrainConfig,
    input_bits: int,
    classes: list[str],
    name: str = "net",
    meta: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    input_names: list[str] | None = None,
    drop_unused_inputs: bool = False,
    soft_targets: np.ndarray | None = None,
) -> TrainedNetwork:
    """Train a sparse network on integer inputs and return it as a circuit.

    Parameters
    ----------
    X : ndarray of int, shape (n, features)
        Inputs, each in ``[0, 2**input_bits)``.
    y : ndarray of int, shape (n,)
        Class indices in ``[0, len(classes))``.
    config : TrainConfig
    input_bits : int
        Width of each circuit input.
    classes : list of str
        Class labels; the circuit gets one output per class.
    name : str
        The circuit's name.
    meta : dict, optional
        Extra ``meta`` for the circuit (e.g. the data set).
    progress : callable, optional
        Called as ``progress(epoch, epochs)``.
    validation_data : (X, y), optional
        Held-out data for model selection, used instead of drawing
        ``config.validation`` of ``X`` (needed when ``X`` is augmented: shifted
        copies of one image must not sit on both sides).
    input_names : list of str, optional
        Circuit input names, one per column of ``X`` (default ``p0, p1, ...``).
    drop_unused_inputs : bool
        Leave out of the circuit the inputs no gate reads (``used_inputs`` says which are kept).
    soft_targets : ndarray of float, shape (n, classes), optional
        A teacher's class probabilities for each row of ``X`` (used when ``config.distillation`` > 0).
    """
    config.check()
    X = np.asarray(X, dtype=np.int64)
    y = np.asarray(y, dtype=np.int64)
    if X.ndim != 2 or y.shape != (X.shape[0],) or X.shape[0] == 0:
        raise CircuitError(f"training data must be (n, features) and (n,), not {X.shape} and {y.shape}")
    if X.min() < 0 or X.max() >= 1 << input_bits:
        raise CircuitError(f"training inputs must lie in [0, {1 << input_bits})")
    n_classes = len(classes)
    if y.min() < 0 or y.max() >= n_classes:
        raise CircuitError(f"labels must lie in [0, {n_classes})")
    if config.distillation and (soft_targets is None or np.shape(soft_targets) != (X.shape[0], n_classes)):
        raise CircuitError(f"distillation needs soft_targets of shape ({X.shape[0]}, {n_classes})")
    rng = seeded_rng(config.seed)
    Xf = X.astype(np.float64)
    Xv = yv = None
    if validation_data is not None:
        Xv = np.asarray(validation_data[0], dtype=np.float64)
        yv = np.asarray(validation_data[1], dtype=np.int64)
    elif config.validation:
        # Hold out part of the training data; keep the epoch (after the mask settles) that does best on it.
        perm = rng.permutation(X.shape[0])
        cut = round(X.shape[0] * config.validation)
        Xv, yv = Xf[perm[:cut]], y[perm[:cut]]
        Xf, X, y = Xf[perm[cut:]], X[perm[cut:]], y[perm[cut:]]
    best: tuple[float, list[np.ndarray], list[np.ndarray]] | None = None
    net = _Net(config, X.shape[1], n_classes, float(np.sqrt((Xf**2).mean())) or 1.0, rng)
    opt = _Adam(net.params, config.learning_rate)
    warm, settle = config.epochs // 4, config.epochs // 2
    history = []
    for epoch in range(config.epochs):
        # The fan-in budget: dense during warm-up, then tightening to fan_in.
        frac = min(1.0, max(0.0, (epoch - warm) / max(1, settle - warm)))
        if epoch == config.epochs - 1:
            frac = 1.0  # the last epoch always trains under the full budget (matters for epochs < 2)
        for i, W in enumerate(net.W):
            budget = config.fan_in if i < len(config.hidden) or config.output_fan_in is None else config.output_fan_in
            k = round(W.shape[0] - frac * (W.shape[0] - min(budget, W.shape[0])))
            net.masks[i] = _top_k_mask(W, max(1, k))
        lr_scale = 0.5 * (1 + math.cos(math.pi * epoch / config.epochs))
        opt.lr = config.learning_rate * (0.1 + 0.9 * lr_scale)
        order = rng.permutation(X.shape[0])
        stats = np.zeros(3)
        for start in range(0, len(order), config.batch_size):
            batch = order[start : start + config.batch_size]
            soft = None if soft_targets is None else np.asarray(soft_targets, dtype=np.float64)[batch]
            loss, acc, firing, grads = net.loss_and_grads(Xf[batch], y[batch], soft)
            opt.step(grads)
            stats += np.array([loss, acc, firing]) * len(batch)
        stats /= len(order)
        history.append(
            {
                "epoch": epoch,
                "loss": round(float(stats[0]), 5),
                "accuracy": round(float(stats[1]), 5),
                "firing": round(float(stats[2]), 5),
                "connections": int(sum(m.sum() for m in net.masks)),
            }
        )
        if Xv is not None and epoch >= settle:
            val = float((net.forward(Xv)[0].argmax(axis=1) == yv).mean())
            history[-1]["validation"] = round(val, 5)
            if best is None or val >= best[0]:
                best = (val, [p.copy() for p in net.params], [mk.copy() for mk in net.masks])
        if progress is not None:
            progress(epoch + 1, config.epochs)
    if best is not None:
        for p, saved in zip(net.params, best[1], strict=True):
            p[...] = saved
        net.masks = best[2]

    circuit, pruned, used = _to_circuit(
        net, X, y, input_bits, classes, name, meta or {}, input_names, drop_unused_inputs
    )
    train_acc = float((predict(circuit, X[:, used]) == y).mean())
    return TrainedNetwork(circuit, config, train_acc, history, pruned, used)


def _training_meta(cfg: TrainConfig) -> dict[str, Any]:
    """The hyperparameters a circuit records; later additions only when not at their defaults."""
    meta = asdict(cfg) | {"hidden": list(cfg.hidden)}
    for key in ("output_fan_in", "distillation"):
        if meta[key] == getattr(TrainConfig, key):
            del meta[key]
    return meta


def _to_circuit(
    net: _Net,
    X: np.ndarray,
    y: np.ndarray,
    input_bits: int,
    classes: list[str],
    name: str,
    meta: dict[str, Any],
    input_names: list[str] | None,
    drop_unused_inputs: bool,
) -> tuple[Circuit, dict[str, int], list[int]]:
    cfg = net.cfg
    act_max = (1 << cfg.act_bits) - 1
    layers: list[dict[str, Any]] = []
    for i in range(len(cfg.hidden)):
        q, scale, _ = net.quantized(i)
        if cfg.kind == "relu":
            T = -np.round(net.b[i])
        else:
            T = np.ceil(-net.b[i] * scale - 1e-9)
        layers.append({"kind": cfg.kind, "W": q.astype(np.int64), "T": T.astype(np.int64), "max": act_max})
    q, scale, _ = net.quantized(len(cfg.hidden))
    bias = np.round(net.b[-1] * scale).astype(np.int64)
    layers.append({"kind": "relu", "W": q.astype(np.int64), "T": -bias, "max": None})
    counts = _fold_and_prune(layers)
    pruned = {**counts, "kept": sum(lay["W"].shape[1] for lay in layers[:-1])}
    used = list(range(X.shape[1]))
    if drop_unused_inputs:
        used = [int(j) for j in np.flatnonzero(layers[0]["W"].any(axis=1))]
        layers[0]["W"] = layers[0]["W"][used]

    # Integer scores on the training data fix the output offset and width.
    a = X[:, used]
    for lay in layers[:-1]:
        S = a @ lay["W"] - lay["T"]
        a = (S >= 0).astype(np.int64) if lay["kind"] == "threshold" else np.clip(S, 0, lay["max"])
    out = layers[-1]
    scores = a @ out["W"] - out["T"]
    t0 = _output_offset(scores, y)
    out["T"] = out["T"] + t0
    top = 1 if cfg.kind == "threshold" else act_max
    if len(layers) == 1:
        top = (1 << input_bits) - 1
    reach = int(max(1, (np.clip(out["W"], 0, None).sum(axis=0) * top - out["T"]).max()))
    bits = min(32, reach.bit_length())

    c = Circuit(name, meta={**meta, CLASSES_KEY: list(classes), "training": _training_meta(cfg)})
    input_names = [f"p{j}" for j in range(X.shape[1])] if input_names is None else input_names
    if len(input_names) != X.shape[1]:
        raise CircuitError(f"input_names: {len(input_names)} names for {X.shape[1]} inputs")
    names = [c.add_input(input_names[j], bits=input_bits) for j in used]
    for li, lay in enumerate(layers[:-1]):
        bits_l = lay["max"].bit_length() if lay["kind"] == "relu" else None
        names = c.add_layer(f"h{li}_", names, lay["W"], lay["T"], kind=lay["kind"], bits=bits_l)
    outs = c.add_layer("o", names, out["W"], out["T"], kind="relu", bits=bits)
    c.add_output(*outs)
    return c, pruned, used
