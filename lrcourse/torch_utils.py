"""PyTorch adapters for the lrcourse helpers. Importing this module imports torch.

Introduced in ``notebooks/02_schedules.ipynb`` (schedules) and
``notebooks/03_per_variable_learning_rates.ipynb`` (param groups).
"""

from __future__ import annotations

import copy
import numbers
import random
from collections.abc import Callable, Mapping

import numpy as np
import torch
from torch.optim.lr_scheduler import LambdaLR

from lrcourse import _rules, _validate
from lrcourse.finder import FinderResult, RangeTest, run_range_test

__all__ = ["ParamGroups", "as_lambda_lr", "find_lr", "is_bias_or_norm", "param_groups"]


def _batch_and_instance_norm_base() -> type:
    """The base class of BatchNorm*d, SyncBatchNorm and InstanceNorm*d.

    PyTorch has no public name for it: it is ``torch.nn.modules.batchnorm._NormBase``, the
    one private name this module uses (``tests/test_adapters.py`` pins what it covers).
    """
    return torch.nn.modules.batchnorm._NormBase


def as_lambda_lr(optimizer: torch.optim.Optimizer, schedule: Callable) -> LambdaLR:
    """A ``LambdaLR`` that gives param group 0 exactly ``schedule(step)``.

    Call ``scheduler.step()`` once after every ``optimizer.step()``. ``LambdaLR`` multiplies
    each group's initial rate by a factor, so the factor here is
    ``schedule(step) / initial rate of group 0``: group 0 follows the schedule's absolute
    rates and every other group keeps its ratio to group 0 (a group created with half of
    group 0's rate always gets half the scheduled rate).

    Args:
        optimizer: a ``torch.optim.Optimizer``; group 0's rate (its ``initial_lr`` if a
            scheduler already set one) must be > 0.
        schedule: a function of the 0-based step, such as an ``lrcourse.schedules`` schedule.

    Returns:
        The ``LambdaLR``. Creating it already sets every group to step 0 of the schedule.

    Raises:
        TypeError: for an optimizer that is not a torch optimizer or a schedule that is not
            callable.
        ValueError: when group 0's rate is not > 0; at a step where the schedule returns
            a rate that is not a finite number >= 0.

    Example:
        >>> from lrcourse.schedules import exponential_decay
        >>> weights, bias = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(1))
        >>> optimizer = torch.optim.SGD([{"params": [weights]},
        ...                              {"params": [bias], "lr": 0.5}], lr=1.0)
        >>> scheduler = as_lambda_lr(optimizer, exponential_decay(0.2, 0.5, decay_steps=1))
        >>> [group["lr"] for group in optimizer.param_groups]
        [0.2, 0.1]
        >>> optimizer.step(); scheduler.step()
        >>> [group["lr"] for group in optimizer.param_groups]
        [0.1, 0.05]

    Introduced in ``notebooks/02_schedules.ipynb``.
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            "`optimizer` must be a torch.optim.Optimizer. "
            f"Received: {optimizer!r:.60} ({type(optimizer).__name__})"
        )
    if not callable(schedule):
        raise TypeError(
            "`schedule` must be a function of the step. "
            f"Received: {schedule!r:.60} ({type(schedule).__name__})"
        )
    first = optimizer.param_groups[0]
    reference = float(first.get("initial_lr", first["lr"]))
    if not reference > 0:
        raise ValueError(
            "param group 0 of `optimizer` must have a learning rate > 0 to scale against. "
            f"Received: lr={reference}"
        )

    return LambdaLR(optimizer, lr_lambda=_rate_factor(schedule, reference))


def _rate_factor(schedule: Callable, reference: float) -> Callable[[int], float]:
    """``step -> schedule(step) / reference``, checked, for ``LambdaLR`` to call every step.

    A plain function (not an object), so the scheduler's ``state_dict`` has nothing to pickle.
    """

    def factor(step: int) -> float:
        return _validate.scheduled_rate(float(schedule(step)), step) / reference

    return factor


# ---------------------------------------------------------------------------------------
# Param groups (lesson 03)

_NORM_LAYERS = (
    _batch_and_instance_norm_base(),
    torch.nn.LayerNorm,
    torch.nn.GroupNorm,
    torch.nn.LocalResponseNorm,
    torch.nn.RMSNorm,
)


def is_bias_or_norm(name: str, module: torch.nn.Module) -> bool:
    """True for a bias, or a parameter of a normalisation layer: the usual no-decay set.

    Weight decay pulls a parameter towards zero. That regularises a weight matrix, but a
    bias or a norm layer's scale has nothing to gain from being pulled to zero.

    Args:
        name: the parameter's own name inside its module (``"weight"``, ``"bias"``).
        module: the module that owns it.

    Example:
        >>> is_bias_or_norm("bias", torch.nn.Linear(2, 2))
        True
        >>> is_bias_or_norm("weight", torch.nn.LayerNorm(2))
        True
        >>> is_bias_or_norm("weight", torch.nn.Linear(2, 2))
        False

    Introduced in ``notebooks/03_per_variable_learning_rates.ipynb``.
    """
    return name == "bias" or isinstance(module, _NORM_LAYERS)


class ParamGroups(list):
    """A list of param-group dicts, ready for any ``torch.optim`` optimizer.

    Each group carries a ``"name"``, which PyTorch keeps in ``optimizer.param_groups``.
    ``frozen`` lists the parameters skipped because ``requires_grad`` is False, and
    ``excluded`` those a rule set to ``None`` left out. ``summary()`` prints as a table.
    """

    def __init__(self, groups, names, frozen, excluded):
        super().__init__(groups)
        self.names = names  # one list of parameter names per group
        self.frozen = frozen
        self.excluded = excluded

    def summary(self) -> str:
        """One line per group: name, rate, weight decay, tensor and element counts."""
        rows = [("group", "lr", "weight_decay", "tensors", "parameters", "first names")]
        for group, names in zip(self, self.names, strict=True):
            count = sum(p.numel() for p in group["params"])
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            rows.append((group["name"], f"{group['lr']:.6g}", f"{group['weight_decay']:g}",
                         str(len(names)), f"{count:,}", shown))
        for label, names in (("(frozen)", self.frozen), ("(excluded)", self.excluded)):
            if names:
                shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
                rows.append((label, "-", "-", str(len(names)), "-", shown))
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        return "\n".join(
            "  ".join(cell.ljust(w) for cell, w in zip(row[:5], widths, strict=True))
            + "  " + row[5]
            for row in rows
        )


def _group_options(key: str, setting: object, lr: float) -> dict | None:
    """The options a rule's setting gives its group, or None for "leave out"."""
    if setting is None:
        return None
    if isinstance(setting, numbers.Real) and not isinstance(setting, bool):
        return {"lr": lr * _validate.positive_float(f"rules[{key!r}]", setting)}
    if isinstance(setting, Mapping):
        options = dict(setting)
        bad = [k for k in options if not isinstance(k, str) or k == "params"]
        if bad:
            raise ValueError(f"`rules[{key!r}]` may hold optimizer options such as 'lr' or "
                             f"'weight_decay', not {bad!r}")
        if "lr" in options:
            options["lr"] = _validate.positive_float(f"rules[{key!r}]['lr']", options["lr"])
        else:
            options["lr"] = lr
        if "weight_decay" in options:
            options["weight_decay"] = _validate.nonnegative_float(
                f"rules[{key!r}]['weight_decay']", options["weight_decay"])
        return options
    raise TypeError(
        f"`rules[{key!r}]` must be a learning-rate multiplier > 0, a dict of group options "
        f"(such as {{'lr': 1e-3}}), or None to leave those parameters out. "
        f"Received: {setting!r:.60} ({type(setting).__name__})"
    )


def param_groups(
    model: torch.nn.Module,
    rules: dict,
    lr: float,
    *,
    weight_decay: float = 0.0,
    no_decay: Callable[[str, torch.nn.Module], bool] | None = is_bias_or_norm,
    unmatched: str = "default",
) -> ParamGroups:
    """Param groups for ``torch.optim``, built from rules on parameter names.

    Args:
        model: the ``torch.nn.Module`` to train. Parameters with ``requires_grad=False``
            (frozen) are skipped and listed in ``.frozen``.
        rules: ``{key: setting}``, in the order the groups should have. A key is a
            module name from ``model.named_modules()`` (it claims every parameter under
            that module), a whole parameter name, or a regular expression matched against
            the whole name. A setting is a multiplier ``m > 0`` (the group's rate is
            ``m * lr``), a dict of group options (``{"lr": 1e-3, "momentum": 0.5}``;
            ``"lr"`` absolute, ``lr`` when absent), or ``None`` to leave those
            parameters out of the optimizer.
        lr: the base learning rate, and the rate of the ``"default"`` group.
        weight_decay: the weight decay of every group that does not set its own.
        no_decay: ``(name, module) -> bool`` choosing parameters that get no weight
            decay (default: biases and normalisation layers, see :func:`is_bias_or_norm`).
            A group with weight decay is split in two, the second named ``"<key> no_decay"``.
            ``None`` turns this off.
        unmatched: what happens to trainable parameters no rule claims: ``"default"`` puts
            them in a group named ``"default"`` at ``lr``, ``"error"`` raises, and
            ``"exclude"`` leaves them out (listed in ``.excluded``).

    Returns:
        A :class:`ParamGroups` list: pass it to the optimizer, print its ``summary()``.

    Raises:
        ValueError: for a rule that matches no trainable parameter, a parameter claimed
            by two rules, a bad rate, an unknown ``unmatched``, or (with
            ``unmatched="error"``) a trainable parameter no rule claims.
        TypeError: for a model that is not a ``torch.nn.Module`` or a setting of the
            wrong type.

    Example:
        >>> net = torch.nn.Sequential()
        >>> net.add_module("body", torch.nn.Linear(4, 8))
        >>> net.add_module("norm", torch.nn.LayerNorm(8))
        >>> net.add_module("head", torch.nn.Linear(8, 2))
        >>> groups = param_groups(net, {"body": 0.1}, lr=0.01, weight_decay=1e-4)
        >>> print(groups.summary())
        group             lr     weight_decay  tensors  parameters  first names
        body              0.001  0.0001        1        32          body.weight
        body no_decay     0.001  0             1        8           body.bias
        default           0.01   0.0001        1        16          head.weight
        default no_decay  0.01   0             3        18          norm.weight, norm.bias, ...
        >>> optimizer = torch.optim.AdamW(groups)
        >>> [group["name"] for group in optimizer.param_groups][:2]
        ['body', 'body no_decay']
        >>> param_groups(net, {"body": 0.1, "body.weight": 0.5}, lr=0.01)
        Traceback (most recent call last):
        ...
        ValueError: trainable parameter 'body.weight' is claimed by more than one rule: ...

    Introduced in ``notebooks/03_per_variable_learning_rates.ipynb``.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError("`model` must be a torch.nn.Module. "
                        f"Received: {model!r:.60} ({type(model).__name__})")
    lr = _validate.positive_float("lr", lr)
    weight_decay = _validate.nonnegative_float("weight_decay", weight_decay)
    unmatched = _validate.choice("unmatched", unmatched, ("default", "error", "exclude"))
    if no_decay is not None and not callable(no_decay):
        raise TypeError("`no_decay` must be a function (name, module) -> bool, or None. "
                        f"Received: {no_decay!r:.60} ({type(no_decay).__name__})")
    keys = _rules.check_rule_keys(rules)
    if unmatched == "default" and "default" in keys:
        raise ValueError("a rule may not be called 'default' when unmatched='default': "
                         "that name belongs to the group of unclaimed parameters.")
    options = {key: _group_options(key, rules[key], lr) for key in keys}

    owners = {}  # parameter name -> (own name, owning module); shared parameters appear once
    for module_name, module in model.named_modules():
        for own_name, _ in module.named_parameters(recurse=False):
            owners[f"{module_name}.{own_name}" if module_name else own_name] = (own_name, module)
    named = list(model.named_parameters())
    if not named:
        raise ValueError("`model` has no parameters.")
    trainable = [(name, p) for name, p in named if p.requires_grad]
    frozen = [name for name, p in named if not p.requires_grad]
    owner = _rules.assign([name for name, _ in trainable], keys, separator=".",
                          anywhere=False, what="trainable parameter", others=frozen,
                          others_are="frozen (requires_grad=False)")
    leftover = [name for name, key in owner.items() if key is None]
    if leftover and unmatched == "error":
        raise ValueError(
            f"no rule claims these trainable parameters: {', '.join(leftover)}. Add a rule, "
            "or pass unmatched='default' or unmatched='exclude'."
        )
    if unmatched == "default":
        options["default"] = {"lr": lr}
        owner = {name: (key if key is not None else "default") for name, key in owner.items()}

    groups, group_names, excluded = [], [], []
    for key, group_options in options.items():
        members = [(name, p) for name, p in trainable if owner[name] == key]
        if group_options is None:
            excluded.extend(name for name, _ in members)
            continue
        decay = group_options.get("weight_decay", weight_decay)
        parts = {key: members}
        if decay > 0 and no_decay is not None:
            parts = {
                key: [(n, p) for n, p in members if not no_decay(*owners[n])],
                f"{key} no_decay": [(n, p) for n, p in members if no_decay(*owners[n])],
            }
        for part_name, part in parts.items():
            if not part:
                continue
            group = {**group_options, "params": [p for _, p in part], "name": part_name,
                     "weight_decay": decay if part_name == key else 0.0}
            groups.append(group)
            group_names.append([n for n, _ in part])
    if unmatched == "exclude":
        excluded.extend(leftover)
    return ParamGroups(groups, group_names, frozen, excluded)


# ---------------------------------------------------------------------------------------
# Lesson 06: the LR range test (LR finder)

def _cpu_copy(value):
    """A deep copy of a state-dict value with every tensor cloned onto the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: _cpu_copy(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cpu_copy(item) for item in value)
    return copy.deepcopy(value)


class _TorchRangeTest:
    """What a range test does to a PyTorch model (see :class:`lrcourse.finder.FrameworkAdapter`).

    The snapshot holds everything a range test changes: weights, buffers, gradients,
    optimizer state, the train/eval mode of every module, and the Python, NumPy and torch
    RNG states.
    """

    def __init__(self, model, optimizer, loss_fn, train_loader):
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.train_loader, self.batches = train_loader, iter(())
        self.device = next((p.device for p in model.parameters()), torch.device("cpu"))

    def learning_rates(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def set_learning_rates(self, rates: list[float]) -> None:
        for group, rate in zip(self.optimizer.param_groups, rates, strict=True):
            group["lr"] = rate

    def train_batch(self) -> float:
        try:
            inputs, targets = next(self.batches)
        except StopIteration:  # cycle the loader
            self.batches = iter(self.train_loader)
            inputs, targets = next(self.batches)
        self.model.train()
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.model(inputs.to(self.device)), targets.to(self.device))
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def snapshot(self) -> Callable[[], None]:
        model, optimizer = self.model, self.optimizer
        weights = _cpu_copy(model.state_dict())
        optimizer_state = _cpu_copy(optimizer.state_dict())
        grads = [None if p.grad is None else p.grad.detach().clone() for p in model.parameters()]
        modes = [module.training for module in model.modules()]
        rng = (random.getstate(), np.random.get_state(), torch.get_rng_state(),
               torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None)

        def restore() -> None:
            model.load_state_dict(weights)
            optimizer.load_state_dict(optimizer_state)
            for parameter, grad in zip(model.parameters(), grads, strict=True):
                parameter.grad = grad
            for module, training in zip(model.modules(), modes, strict=True):
                module.training = training
            random.setstate(rng[0])
            np.random.set_state(rng[1])
            torch.set_rng_state(rng[2])
            if rng[3] is not None:
                torch.cuda.set_rng_state_all(rng[3])

        return restore


def find_lr(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable,
    train_loader,
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    mode: str = "exp",
    beta: float = 0.9,
    diverge_factor: float = 4.0,
    suggestion: str = "minimum_div_10",
) -> FinderResult:
    """Run an LR range test on ``model`` and put everything back as it was.

    Step ``i`` trains one batch at rate ``r_i`` (:func:`lrcourse.finder.sweep_rates`);
    group ``g`` gets ``r_i * lr_g / lr_0``, so the ratios between param groups survive,
    and ``lrs`` records group 0's rate as the optimizer held it. The loader is cycled when
    it runs out. The test stops at a non-finite loss or when the smoothed loss exceeds
    ``diverge_factor`` times its best (:class:`lrcourse.finder.RangeTest`).

    Afterwards, also after an exception inside the sweep, the weights and buffers, the
    optimizer's state dict (rates, momentum buffers, step counts; its snapshot is kept on
    the CPU), the gradients, every module's train/eval mode and the Python, NumPy and
    torch RNG states are restored bit for bit. Nothing is written to disk.

    Args:
        model: the ``torch.nn.Module`` to test.
        optimizer: its optimizer; every group's ``lr`` must be > 0.
        loss_fn: ``loss_fn(model(inputs), targets)`` returns a scalar tensor.
        train_loader: an iterable of ``(inputs, targets)`` batches with a length, such as
            a ``DataLoader``.
        start_lr, end_lr, num_steps, mode: the sweep of group 0's rate.
        beta, diverge_factor: smoothing and stop rule (see :class:`RangeTest`).
        suggestion: which suggestion becomes ``suggested_lr`` (see
            :func:`lrcourse.finder.analyze`).

    Returns:
        A :class:`lrcourse.finder.FinderResult`.

    Raises:
        ValueError: for a bad sweep setting, a group rate that is not > 0 or an empty
            loader, before the model is touched.
        TypeError: for a model, optimizer or loss of the wrong type.

    Example:
        >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
        <torch._C.Generator object at ...>
        >>> net = torch.nn.Linear(3, 1)
        >>> optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        >>> x = torch.randn(64, 3); y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
        >>> loader = torch.utils.data.DataLoader(
        ...     torch.utils.data.TensorDataset(x, y), batch_size=16, shuffle=True)
        >>> before = [p.clone() for p in net.parameters()]
        >>> result = find_lr(net, optimizer, torch.nn.functional.mse_loss, loader,
        ...                  start_lr=1e-4, end_lr=10.0, num_steps=60)
        >>> result.stop_reason, 1e-3 < result.suggested_lr < 1.0
        ('diverged', True)
        >>> all(torch.equal(b, p) for b, p in zip(before, net.parameters()))
        True
        >>> optimizer.state == {} and optimizer.param_groups[0]["lr"] == 0.1
        True

    Introduced in ``notebooks/06_lr_finder.ipynb``.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError("`model` must be a torch.nn.Module. "
                        f"Received: {model!r:.60} ({type(model).__name__})")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError("`optimizer` must be a torch.optim.Optimizer. "
                        f"Received: {optimizer!r:.60} ({type(optimizer).__name__})")
    if not callable(loss_fn):
        raise TypeError("`loss_fn` must be a function (outputs, targets) -> loss. "
                        f"Received: {loss_fn!r:.60} ({type(loss_fn).__name__})")
    test = RangeTest(start_lr, end_lr, num_steps, mode, beta=beta,
                     diverge_factor=diverge_factor, suggestion=suggestion)
    try:
        size = len(train_loader)
    except TypeError:
        raise TypeError("`train_loader` must be a DataLoader or another iterable with a "
                        f"length. Received: {type(train_loader).__name__}") from None
    if size == 0:
        raise ValueError("`train_loader` is empty: it yields no batches. Received a loader "
                         "of length 0")
    return run_range_test(test, _TorchRangeTest(model, optimizer, loss_fn, train_loader))
