"""Loss landscapes and Hessian spectra of your own PyTorch model, evaluated natively.

The model is read as a function of its flat weights (``torch.nn.utils.parameters_to_vector``
order): ``loss(w) = loss_fn(functional_call(model, (params(w), buffers), x), y)``, a row-weighted
mean of ``loss_fn`` (which returns the mean over one batch) over all batches of the data. Then:

* a landscape evaluates ``loss(center + t @ directions)`` for a chunk of grid points ``t`` at
  once: ``torch.func.vmap`` over the chunk's weights, so each layer is one batched product for
  the whole chunk instead of one small product per point (chunks sized to about
  :data:`CHUNK_BYTES` of weights and activations; with a DataLoader each batch is read once and
  serves every chunk);
* a spectrum runs gradscape's own Lanczos, Hutchinson and SLQ
  (:func:`gradscape.networks.spectra.hessian_spectrum`) on forward-over-reverse Hessian-vector
  products, ``torch.func.jvp`` of ``torch.func.grad``.

Filter-normalised random directions follow PyTorch's layout: a ``Linear`` weight is ``(out, in)``
and a filter is a row; a ``Conv`` weight ``(out, in, kh, kw)`` has one filter per output channel;
one-dimensional parameters (biases, BatchNorm's scale and shift) get zero. BatchNorm and dropout
run in eval mode with the buffers frozen (passed unchanged); the model's own modes are restored
afterwards. Everything runs in the parameters' dtype (float32 for most models) on ``device``
(default: where the parameters are); nothing preallocates a GPU's memory. The results are
gradscape's own :class:`~gradscape.networks.landscapes.Landscape` and
:class:`~gradscape.networks.spectra.Spectrum`, so every figure and report shows them.

PyTorch is an optional extra: ``pip install "gradscape[torch]"``.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from .errors import DataError, GradscapeError, InputError, whole_number
from .executors import ChunkStore, Work, check_executor, fingerprint, prepared, run, task_size
from .networks.landscapes import (
    Landscape,
    _hessian_directions,
    _pca_directions,
    assemble,
    check_request,
    grid_points,
)
from .networks.spectra import Spectrum, hessian_spectrum

#: Memory one chunk of grid points may take (its weights and its activations on a batch).
CHUNK_BYTES = 64 * 1024**2
#: On a CPU, the largest activation of a chunk is also kept near this size per thread, so that
#: it stays in the cores' caches between one layer and the next (beyond it the chunk's
#: elementwise layers run at the speed of memory, slower than one point after another).
CACHE_BYTES = 4 * 1024**2
#: Most rows of a tensor dataset evaluated at once (larger data is cut into batches).
BATCH_ROWS = 4096
#: The directions a landscape accepts by name (or an array of shape ``(dims, n)``).
DIRECTIONS = ("random", "hessian", "trajectory")


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise GradscapeError(
            'gradscape.torch needs PyTorch, which is not installed: pip install "gradscape[torch]".'
        ) from None
    return torch


def loss_label(loss: Any) -> str:
    """The loss's name in gradscape's words: ``CrossEntropyLoss()`` and ``F.cross_entropy`` are
    ``cross_entropy``, ``MSELoss()`` is ``mse``; the default (``None``) is ``cross_entropy``."""
    if loss is None:
        return "cross_entropy"
    name = getattr(loss, "__name__", None) or type(loss).__name__
    if not name.isidentifier() or len(name) < 3:  # a lambda, or an inner `f` that says nothing
        return "loss"
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", re.sub(r"Loss$", "", name)).lower()
    return name or "loss"


@contextmanager
def _eval_mode(model: Any) -> Iterator[None]:
    """BatchNorm and dropout in eval mode for the work; each module's own mode back after."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode


def _device(torch: Any, device: Any) -> Any:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise InputError(f"Unknown device {device!r}; use 'cpu', 'cuda' or 'cuda:N'.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {device!r} asked for, but PyTorch sees no CUDA GPU here.")
    return dev


class _Data:
    """The data as batches ``(x, y)`` on the device: a pair of tensors (cut into batches of at
    most :data:`BATCH_ROWS` rows; ``subsample`` rows drawn with ``seed``) or a DataLoader (its
    batches as it yields them; ``subsample``: its first rows)."""

    def __init__(self, data: Any, subsample: int | None, seed: int, device: Any) -> None:
        torch = _torch()
        self.device = device
        self.subsample = None if subsample is None else whole_number(subsample, "subsample")
        self.loader = None
        if isinstance(data, torch.utils.data.DataLoader):
            self.loader = data
            return
        if not (isinstance(data, tuple | list) and len(data) == 2):
            raise InputError(
                "data must be an (inputs, targets) pair of tensors or a DataLoader; got "
                f"{type(data).__name__}{f' of {len(data)}' if isinstance(data, tuple | list) else ''}."
            )
        x, y = (self._tensor(v, what) for v, what in zip(data, ("inputs", "targets"), strict=True))
        if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
            raise DataError(
                f"The inputs have shape {tuple(x.shape)} and the targets {tuple(y.shape)}: give "
                "one target per input row (the first dimension counts the rows)."
            )
        if len(x) == 0:
            raise DataError("The data has no rows.")
        if self.subsample is not None and self.subsample < len(x):
            pick = np.random.default_rng(seed).choice(len(x), self.subsample, replace=False)
            index = torch.as_tensor(pick)
            x, y = x[index], y[index]
        self.x, self.y = x.to(device), y.to(device)

    @staticmethod
    def _tensor(v: Any, what: str) -> Any:
        torch = _torch()
        if isinstance(v, np.ndarray):
            return torch.from_numpy(v)
        if not isinstance(v, torch.Tensor):
            raise InputError(
                f"data must be an (inputs, targets) pair of tensors or a DataLoader; its {what} "
                f"are a {type(v).__name__}."
            )
        return v.detach()

    @property
    def rows(self) -> int | None:
        return None if self.loader is not None else len(self.x)

    def count(self) -> int | None:
        """How many batches :meth:`batches` yields, where known in advance."""
        if self.loader is None:
            return -(-len(self.x) // BATCH_ROWS)
        try:
            return len(self.loader)
        except TypeError:
            return None

    def batches(self) -> Iterator[tuple[Any, Any]]:
        if self.loader is None:
            for i in range(0, len(self.x), BATCH_ROWS):
                yield self.x[i : i + BATCH_ROWS], self.y[i : i + BATCH_ROWS]
            return
        left = self.subsample
        for batch in self.loader:
            if not (isinstance(batch, tuple | list) and len(batch) == 2):
                raise InputError(
                    "Each batch of the DataLoader must be an (inputs, targets) pair; got "
                    f"{type(batch).__name__}."
                )
            x, y = (self._tensor(v, w) for v, w in zip(batch, ("inputs", "targets"), strict=True))
            if left is not None:
                x, y = x[:left], y[:left]
                left -= len(x)
            if len(x):
                yield x.to(self.device), y.to(self.device)
            if left is not None and left <= 0:
                return


class _Net:
    """The model as a function of its flat weights, on ``device``, in its parameters' dtype."""

    def __init__(self, model: Any, loss: Any, device: Any) -> None:
        torch = _torch()
        if not isinstance(model, torch.nn.Module):
            raise InputError(f"model must be a torch.nn.Module; got {type(model).__name__}.")
        named = list(model.named_parameters())
        if not named:
            raise InputError("The model has no parameters: there is no landscape to look at.")
        if loss is not None and not callable(loss):
            raise InputError(
                f"loss must be a function loss(outputs, targets) -> the batch's mean; got "
                f"{type(loss).__name__}."
            )
        self.torch, self.model = torch, model
        self.loss = torch.nn.functional.cross_entropy if loss is None else loss
        self.label = loss_label(loss)
        self.device = _device(torch, device) if device is not None else named[0][1].device
        self.dtype = named[0][1].dtype
        self.names = [k for k, _ in named]
        self.shapes = [tuple(p.shape) for _, p in named]
        self.sizes = [p.numel() for _, p in named]
        self.buffers = {k: b.detach().to(self.device) for k, b in model.named_buffers()}
        self.center = self.flat(model, "model")

    @property
    def n(self) -> int:
        return sum(self.sizes)

    def flat(self, source: Any, what: str) -> Any:
        """The flat weights of a model or state_dict of this architecture (on the device)."""
        torch = self.torch
        if isinstance(source, torch.nn.Module):
            named = dict(source.named_parameters())
            extra = sorted(set(named) - set(self.names))
            if extra:
                raise InputError(
                    f"The {what} is another architecture: it has a parameter {extra[0]!r} this "
                    "model lacks; give a model or state_dict of the same architecture."
                )
        elif isinstance(source, Mapping):
            named = dict(source)
        else:
            raise InputError(
                f"The {what} must be a torch.nn.Module or a state_dict; got {type(source).__name__}."
            )
        parts = []
        for k, shape in zip(self.names, self.shapes, strict=True):
            if k not in named:
                raise InputError(
                    f"The {what} is another architecture: it has no parameter {k!r}; give a "
                    "model or state_dict of the same architecture."
                )
            v = torch.as_tensor(named[k]).detach()
            if tuple(v.shape) != shape:
                raise InputError(
                    f"The {what} is another architecture: its {k!r} has shape {tuple(v.shape)}, "
                    f"this model's {shape}; give a model or state_dict of the same architecture."
                )
            parts.append(v.reshape(-1).to(self.device, self.dtype))
        out = torch.cat(parts)
        if not bool(torch.isfinite(out).all()):
            raise InputError(
                f"The {what}'s weights hold NaN or infinite values; there is no landscape or "
                "Hessian around them."
            )
        return out

    def params(self, w: Any) -> dict[str, Any]:
        parts = self.torch.split(w, self.sizes)
        return {k: t.view(s) for k, t, s in zip(self.names, parts, self.shapes, strict=True)}

    def first_layer(self) -> int | None:
        """The index of the first layer of an ``nn.Sequential`` when it is a plain ``Linear``
        or convolution (so its output is linear in its weights) and the modules before it
        hold neither parameters nor buffers; ``None`` for any other model."""
        nn = self.torch.nn
        if type(self.model) is not nn.Sequential:
            return None
        for k, m in enumerate(self.model):
            if next(m.parameters(), None) is None and next(m.buffers(), None) is None:
                continue
            plain = type(m) in (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
            return k if plain and not m._forward_hooks and not m._forward_pre_hooks else None
        return None

    def _module(self, k: int, tensors: Mapping[str, Any]) -> dict[str, Any]:
        """The entries of module ``k`` of a Sequential, named as inside it."""
        head = f"{k}."
        return {n[len(head) :]: v for n, v in tensors.items() if n.startswith(head)}

    def layer(self, k: int, w: Any, h: Any) -> Any:
        """Module ``k`` of a Sequential on ``h`` at flat weights ``w``."""
        params = self._module(k, self.params(w))
        return self.torch.func.functional_call(self.model[k], params, (h,))

    def rest_loss(self, k: int) -> Callable[[Any, Any, Any], Any]:
        """The loss of a Sequential from the output ``h`` of its module ``k`` on, at flat
        weights ``w`` (batched over ``w`` and ``h`` by ``vmap``)."""
        call = self.torch.func.functional_call
        later = [(j, self.model[j], self._module(j, self.buffers))
                 for j in range(k + 1, len(self.model))]  # fmt: skip

        def at(w: Any, h: Any, y: Any) -> Any:
            params = self.params(w)
            for j, m, buffers in later:
                h = call(m, (self._module(j, params), buffers), (h,))
            return self.loss(h, y)

        return at

    def loss_at(self, w: Any, x: Any, y: Any) -> Any:
        """The loss of one batch at flat weights ``w`` (batched over ``w`` by ``vmap``)."""
        out = self.torch.func.functional_call(self.model, (self.params(w), self.buffers), (x,))
        return self.loss(out, y)

    def check(self, data: _Data) -> tuple[float, float]:
        """Run the model once on a few rows (a model that cannot read the data, or a loss that is
        not one number, fails here in one line); returns the activations per row (floats):
        all of them, and the largest one."""
        torch = self.torch
        first = next(iter(data.batches()), None)
        if first is None:
            raise DataError("The DataLoader yielded no rows.")
        x, y = first[0][:8], first[1][:8]
        seen = [0, 0]

        def hook(_m: Any, _i: Any, out: Any) -> None:
            if isinstance(out, torch.Tensor):
                seen[0] += out.numel()
                seen[1] = max(seen[1], out.numel())

        hooks = [m.register_forward_hook(hook) for m in self.model.modules()]
        try:
            with torch.no_grad():
                value = self.loss_at(self.center, x, y)
        except GradscapeError:
            raise
        except Exception as e:
            text = " ".join(str(e).split())[:300]
            raise InputError(
                f"The model and loss could not run on the data's first rows (inputs of shape "
                f"{tuple(x.shape)}, targets {tuple(y.shape)}): {type(e).__name__}: {text}"
            ) from None
        finally:
            for h in hooks:
                h.remove()
        if not isinstance(value, torch.Tensor) or value.numel() != 1:
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise InputError(
                f"The loss must return one number, the mean over the batch; it returned shape "
                f"{shape} for a batch of {len(x)} rows (use reduction='mean')."
            )
        return seen[0] / len(x), seen[1] / len(x)

    def hvp(self, data: _Data) -> Callable[[np.ndarray], np.ndarray]:
        """``v ↦ H v`` at the model's weights, forward over reverse, summed over the batches."""
        torch = self.torch
        grad = torch.func.grad(self.loss_at)

        def hvp(v: np.ndarray) -> np.ndarray:
            tangent = torch.as_tensor(v, dtype=self.dtype, device=self.device)
            acc = torch.zeros(self.n, dtype=torch.float64, device=self.device)
            rows = 0
            for x, y in data.batches():
                with warnings.catch_warnings():  # PyTorch's first jvp loads its rules with
                    warnings.filterwarnings(  # the deprecated torch.jit.script (a Deprecation-
                        "ignore",
                        "`torch.jit.script` is deprecated",  # or FutureWarning, by
                    )  # version): PyTorch's business, not the user's
                    hv = self._hv(grad, x, y, tangent)
                acc += hv.double() * len(x)
                rows += len(x)
            return np.asarray((acc / rows).cpu().numpy(), np.float64)

        return hvp

    def _hv(self, grad: Callable[..., Any], x: Any, y: Any, tangent: Any) -> Any:
        """``H v`` on one batch: forward over reverse (``jvp`` of ``grad``), or reverse over
        reverse (``vjp`` of ``grad``: ``vᵀH = (H v)ᵀ``, the Hessian being symmetric) for the
        losses whose backward pass forward mode cannot run through (PyTorch's ``mse_loss``
        raises "ZeroTensors are immutable" there)."""
        torch = self.torch
        if not getattr(self, "_reverse", False):
            try:
                return torch.func.jvp(lambda w: grad(w, x, y), (self.center,), (tangent,))[1]
            except RuntimeError:
                self._reverse = True
        _, pullback = torch.func.vjp(lambda w: grad(w, x, y), self.center)
        return pullback(tangent)[0]

    def hessian(self, data: _Data) -> np.ndarray:
        """The dense Hessian (small models), summed over the batches."""
        torch = self.torch
        acc = torch.zeros((self.n, self.n), dtype=torch.float64, device=self.device)
        rows = 0
        for x, y in data.batches():
            h = torch.func.hessian(lambda w: self.loss_at(w, x, y))(self.center)  # noqa: B023
            acc += h.double() * len(x)
            rows += len(x)
        return np.asarray((acc / rows).cpu().numpy(), np.float64)


def filter_normalised(model: Any, dims: int, seed: int) -> np.ndarray:
    """``dims`` seeded Gaussian directions (``torch.Generator``), shape ``(dims, n)`` in
    ``parameters_to_vector`` order: each filter (a row of a ``Linear`` weight, an output channel
    of a ``Conv`` weight) scaled to the norm of the same filter of the model's weights;
    one-dimensional parameters get zero."""
    torch = _torch()
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(dims):
        parts = []
        for p in model.parameters():
            w = p.detach().cpu().float()
            if w.ndim < 2:
                parts.append(torch.zeros(w.numel()))
                continue
            rows = w.reshape(w.shape[0], -1)
            d = torch.randn(rows.shape, generator=gen)
            norm_w = rows.norm(dim=1, keepdim=True)
            norm_d = d.norm(dim=1, keepdim=True).clamp_min(1e-12)
            parts.append((d * (norm_w / norm_d)).reshape(-1))
        out.append(torch.cat(parts))
    return np.asarray(torch.stack(out).numpy(), np.float32)


def _given_directions(directions: Any, n: int, dims: int | None) -> np.ndarray:
    d = np.asarray(directions, dtype=np.float32)
    if d.ndim == 1:
        d = d[None, :]
    if d.ndim != 2 or d.shape[1] != n or d.shape[0] not in (1, 2):
        raise InputError(
            f"directions as an array must have shape (dims, {n}) with dims 1 or 2 "
            f"(parameters_to_vector order); got {d.shape}."
        )
    if dims is not None and d.shape[0] != dims:
        raise InputError(f"dims is {dims} but {d.shape[0]} directions were given.")
    if not np.all(np.isfinite(d)):
        raise InputError("The directions hold NaN or infinite values.")
    return d


def _chunk_size(net: _Net, per_row: tuple[float, float], rows: int, chunk: int | None) -> int:
    """Grid points per vmapped evaluation: ``chunk``, or as many as fit :data:`CHUNK_BYTES`
    (each point: its ``n`` weights and all its activations on ``rows`` rows) and, on a CPU,
    whose largest activation fits :data:`CACHE_BYTES`; at most 1024."""
    if chunk is not None:
        return whole_number(chunk, "chunk", 1, 10**6)
    every, largest = (max(v, 1.0) for v in per_row)
    size = min(1024, CHUNK_BYTES // (4 * (net.n + rows * every)))
    if net.device.type == "cpu":
        cache = CACHE_BYTES * net.torch.get_num_threads()
        size = min(size, cache // (4 * rows * largest))
    return int(max(1, size))


def _grid_losses(net: _Net, data: _Data, dirs: np.ndarray, points: np.ndarray, chunk: int,
                 progress: Any) -> tuple[np.ndarray, int]:  # fmt: skip
    """The loss at ``center + points @ dirs`` for every row of ``points``, ``chunk`` points at
    a time under ``vmap``, and the rows it was evaluated on; with batched data each batch
    serves every chunk before the next.

    When the model is an ``nn.Sequential`` whose first layer is a ``Linear`` or a convolution
    (:meth:`_Net.first_layer`), that layer's output is linear in its weights,
    ``L(C + αD + βE) = L(C) + α·L(D) + β·L(E)``: the three are computed once per batch and each
    point starts from them, as the JAX path does for its built-in networks."""
    torch = net.torch
    t = torch.as_tensor(points, dtype=net.dtype, device=net.device)
    d = torch.as_tensor(dirs, dtype=net.dtype, device=net.device)
    first = net.first_layer()
    if first is None:
        batched = torch.func.vmap(net.loss_at, in_dims=(0, None, None))
    else:
        batched = torch.func.vmap(net.rest_loss(first), in_dims=(0, 0, None))
    sums = torch.zeros(len(points), dtype=torch.float64)
    rows, step = 0, 0
    starts = range(0, len(points), chunk)
    total = (data.count() or 1) * len(starts)
    with torch.no_grad():
        for x, y in data.batches():
            if first is not None:
                h = net.model[:first](x)
                base = net.layer(first, net.center, h)
                moves = torch.stack([net.layer(first, v, h) for v in d])
            for s in starts:
                w = net.center + t[s : s + chunk] @ d
                if first is None:
                    losses = batched(w, x, y)
                else:
                    losses = batched(w, base + torch.tensordot(t[s : s + chunk], moves, 1), y)
                sums[s : s + chunk] += losses.double().cpu() * len(x)
                step += 1
                if progress is not None:
                    progress(min(step, total), max(total, step))
            rows += len(x)
    return np.asarray((sums / rows).numpy(), np.float64), rows


def _grid_chunk(spec: dict[str, Any], index: int) -> dict[str, np.ndarray]:
    """Task ``index`` of a PyTorch landscape's grid (see :func:`_grid_work`): the loss at its
    points. The model and data are set up once per process and job; random directions are
    drawn again from their seed."""

    def build() -> tuple[_Net, _Data, np.ndarray]:
        net = _Net(spec["model"], spec["loss"], spec["device"])
        data = _Data(spec["data"], spec["subsample"], spec["seed"], net.device)
        dirs = spec["dirs"]
        if dirs is None:
            dirs = filter_normalised(spec["model"], spec["dims"], spec["seed"])
        return net, data, dirs

    net, data, dirs = prepared(spec["work"], build)
    t = spec["per_task"]
    with _eval_mode(net.model):
        values, rows = _grid_losses(net, data, dirs, spec["points"][index * t : (index + 1) * t],
                                    spec["chunk"], None)  # fmt: skip
    return {"values": values, "rows": np.array(rows)}


def _grid_work(net: _Net, data: _Data, spec: dict[str, Any], per_row: tuple[float, float]) -> Work:
    """A PyTorch landscape's grid as chunked work: tasks of whole chunks, about
    :data:`~gradscape.executors.TASK_FLOPS` each (a multiply-add per weight and per
    activation, per row and point). The fingerprint holds the weights, buffers, data and
    settings (a DataLoader is read once for it)."""
    torch = net.torch
    rows = data.rows or BATCH_ROWS
    chunk, total = spec["chunk"], len(spec["points"])
    per_task = task_size(2.0 * rows * (net.n + per_row[0]), chunk, total)
    tensors = [net.center.detach().cpu().numpy(), *(b.cpu().numpy() for b in net.buffers.values())]
    with torch.no_grad():
        tensors += [t.detach().cpu().numpy() for batch in data.batches() for t in batch]
    made = fingerprint("torch landscape", type(net.model).__name__, repr(net.model), net.label,
                       *tensors, spec["dirs"] if spec["dirs"] is not None else spec["seed"],
                       spec["points"], chunk, per_task, spec["device"])  # fmt: skip
    spec = {**spec, "per_task": per_task, "work": made}
    return Work("torch-landscape", f"{__name__}:_grid_chunk", spec, -(-total // per_task), made)


def landscape(
    model: Any,
    data: Any,
    loss: Callable[[Any, Any], Any] | None = None,
    *,
    dims: int | None = None,
    grid: int = 51,
    span: float = 1.0,
    directions: str | Any = "random",
    trajectory: Sequence[Any] | None = None,
    between: Any = None,
    subsample: int | None = None,
    seed: int = 0,
    device: Any = None,
    chunk: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    executor: Any = None,
    store: ChunkStore | None = None,
) -> Landscape:
    """The loss of a PyTorch model on a line or plane through its weights (see the module
    docstring and :func:`gradscape.networks.landscapes.landscape`: same grid, caps and result).

    Args:
        model: a ``torch.nn.Module`` with its trained weights (left unchanged).
        data: an ``(inputs, targets)`` pair of tensors, or a ``DataLoader`` yielding such pairs.
        loss: ``loss(outputs, targets)`` returning the batch's mean (default cross-entropy).
        directions: ``random`` (filter-normalised), ``hessian`` (top eigenvectors, Lanczos),
            ``trajectory`` (the PCA plane of ``trajectory``: the kind is ``pca``), or an array
            of shape ``(dims, n)`` in ``parameters_to_vector`` order, used as given (kind
            ``random``).
        trajectory: for ``trajectory``, the saved weights: state_dicts or models of the same
            architecture.
        between: another model or state_dict of the same architecture: the line from this
            model (t = 0) to it (t = 1), over ``[-span/4, 1 + span/4]``.
        subsample: this many rows (drawn with ``seed`` from tensors; a DataLoader's first rows).
        device: ``"cpu"``, ``"cuda"``…; default where the parameters are.
        chunk: grid points per vmapped evaluation (default: sized to :data:`CHUNK_BYTES`).
        progress: called as ``progress(done, total)`` after each chunk and Lanczos step.
        executor: a ``distributed.Client``: the grid's tasks run on its cluster (the model,
            data and loss are pickled to each worker once, so their classes and functions must
            pickle: cloudpickle sends those of a script by value); ``store``: a
            :class:`~gradscape.executors.ChunkStore` keeping each finished task for a resumed
            run. The values are those of this process (see :mod:`gradscape.executors`).

    Raises:
        InputError: a bad model, data, loss, request, or weights of another architecture.
    """

    check_executor(executor)
    given = None
    if isinstance(directions, str):
        if directions not in (*DIRECTIONS, "pca"):
            raise InputError(
                f"Unknown directions {directions!r}; choose random, hessian, trajectory, or give "
                "an array of shape (dims, n)."
            )
        kind = "pca" if directions == "trajectory" else directions
    else:
        kind = "random"
    net = _Net(model, loss, device)
    if not isinstance(directions, str):
        given = _given_directions(directions, net.n, dims)
        dims = given.shape[0] if between is None else dims
    dims, grid, span, seed = check_request(dims, grid, span, kind, between is not None, seed)
    if kind == "pca" and between is None and trajectory is None:
        raise InputError("Trajectory directions need trajectory=: the saved state_dicts or models.")
    data_ = _Data(data, subsample, seed, net.device)
    center = net.center.detach().cpu().numpy().astype(np.float32)
    path = explained = np.empty(0)
    with _eval_mode(model):
        per_row = net.check(data_)
        if between is not None:
            other = net.flat(between, "other model").cpu().numpy().astype(np.float32)
            kind, dirs = "between", (other - center)[None, :]
            lo, hi = -span / 4, 1 + span / 4
        elif kind == "pca":
            traj = np.stack([net.flat(s, "trajectory's model").cpu().numpy() for s in trajectory])  # type: ignore[union-attr]
            if len(traj) < dims + 1:
                raise InputError(
                    f"A PCA {'plane' if dims == 2 else 'line'} needs at least {dims + 1} saved "
                    f"weights in the trajectory; got {len(traj)}."
                )
            dirs, explained, path = _pca_directions(traj, center, dims)
            reach = float(np.max(np.abs(path))) if path.size else 1.0
            lo, hi = -1.2 * reach * span, 1.2 * reach * span
        else:
            if given is not None:
                dirs = given
            elif kind == "hessian":
                dirs = _hessian_directions(net.hvp(data_), center, dims, seed, progress)
            else:
                dirs = filter_normalised(model, dims, seed)
            lo, hi = -span, span
        alphas, betas, pts = grid_points(lo, hi, grid, dims)
        # the centre (and the other end of a line between models) ride along with the grid
        ends = np.zeros((2 if kind == "between" else 1, dims))
        ends[1:, 0] = 1.0
        rows = data_.rows or BATCH_ROWS
        size = _chunk_size(net, per_row, min(rows, BATCH_ROWS), chunk)
        everything = np.concatenate([pts, ends])
        if executor is None and store is None:
            values, rows_used = _grid_losses(net, data_, dirs, everything, size, progress)
        else:
            rebuilt = kind == "random" and given is None  # workers draw them from the seed
            spec = {"model": model, "data": data, "loss": loss, "subsample": subsample,
                    "seed": seed, "device": str(net.device), "dims": dims,
                    "dirs": None if rebuilt else dirs, "points": everything, "chunk": size}  # fmt: skip
            work = _grid_work(net, data_, spec, per_row)
            parts = run(work, executor=executor, store=store, progress=progress)
            values = np.concatenate([p["values"] for p in parts])
            rows_used = int(parts[0]["rows"])
    extra = values[len(pts) :]
    return assemble(
        values[: len(pts)], alphas, betas, kind=kind, directions=np.asarray(dirs, np.float32),
        center=center, center_loss=float(extra[0]),
        end_loss=float(extra[1]) if kind == "between" else math.nan, path=np.asarray(path),
        explained=np.asarray(explained), rows=int(rows_used), seed=seed, label=net.label,
    )  # fmt: skip


def layer_blocks(model: Any) -> dict[str, slice]:
    """``{module: slice}`` of the flat weights (``parameters_to_vector`` order): one block per
    module that owns parameters, named ``"0 (Linear)"``, ``"features.1 (BatchNorm2d)"``…"""
    out: dict[str, slice] = {}
    pos = 0
    for name, p in model.named_parameters():
        owner = name.rpartition(".")[0]
        key = f"{owner} ({type(model.get_submodule(owner)).__name__})" if owner else name
        start = out[key].start if key in out else pos
        out[key] = slice(start, pos + p.numel())
        pos += p.numel()
    return out


def spectrum(
    model: Any,
    data: Any,
    loss: Callable[[Any, Any], Any] | None = None,
    *,
    top: int = 5,
    bottom: int = 5,
    steps: int = 80,
    trace: bool = False,
    trace_samples: int = 100,
    density: bool = False,
    density_starts: int = 8,
    density_steps: int = 60,
    layers: bool = False,
    exact: bool = False,
    seed: int = 0,
    device: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> Spectrum:
    """Hessian eigenvalues, trace and spectral density of a PyTorch model's loss at its weights
    (see :func:`gradscape.networks.spectra.spectrum`: the same algorithms, defaults, caps and
    result) from forward-over-reverse Hessian-vector products over all of ``data``.

    Args:
        model, data, loss, device: as for :func:`landscape`.
        layers: also each module's Hessian block (:func:`layer_blocks`).
        exact: also the exact eigenvalues of the dense Hessian (``torch.func.hessian``; small
            models only).
        progress: called as ``progress(done, total)`` after each Hessian-vector product.
    """

    net = _Net(model, loss, device)
    data_ = _Data(data, None, 0, net.device)
    with _eval_mode(model):
        net.check(data_)
        eps = float(net.torch.finfo(net.dtype).eps)
        return hessian_spectrum(
            net.hvp(data_), net.n, eps, net.label, top=top, bottom=bottom, steps=steps,
            trace=trace, trace_samples=trace_samples, density=density,
            density_starts=density_starts, density_steps=density_steps,
            hessian=(lambda: net.hessian(data_)) if exact else None,
            layers=layer_blocks(model) if layers else None, seed=seed, progress=progress,
        )  # fmt: skip
