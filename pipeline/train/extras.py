"""DeepFaceLab's training extras (SAEHD) for swapdeck's trainer: true face, GAN, face and
background style, and colour transfer of training samples.

Sides. DFL trains "src" (the person put in) and "dst" (the person in the video) and swaps dst
through src's decoder. swapdeck's default swap is a-to-b: A's code through B's decoder. So B
is DFL's src and A its dst, and each extra goes DFL's way:

- true face: a code discriminator learns to tell A's codes (labelled 1) from B's (0); the
  generator is pushed to make B's codes pass for A's, so B's decoder learns from codes like
  those it decodes in a swap. Generator term: power x BCE(D(code B), 1).
- GAN: a U-Net patch discriminator tells B's targets (1) from B's reconstructions (0), both
  inside B's blurred mask; generator term: power x (BCE(center, 1) + BCE(pixels, 1)), and
  under masked training DFL's two stabilisers: 1e-6 x total variation and 0.02 x MSE outside
  the mask.
- face style: the swap (A's code through B's decoder, no gradient into the code) against A's
  own reconstruction, each times its predicted mask (the target face mask when the model
  learns none), both blurred with radius size // 8: the squared differences of per-channel
  means and spreads, times 10000 x power / 100 / 3.
- background style: the swap and A's target outside A's blurred mask: 10 x power / 100 x
  (DSSIM with a size / 11.6 window + MSE).
- colour transfer: B's training faces moved towards the colours of random A faces.

Masks are blurred as DFL blurs them: gaussian of radius max(1, size // 32), then clipped at
0.5 and doubled, so the mask grows by a feathered edge.

Weights. DFL's reconstruction loss is 10 x (DSSIM + MSE) per face; swapdeck's (faceswap's)
is DSSIM + MSE. Every generator term is DFL's times DFL_SCALE = 0.1, so a power weighs
against the reconstruction as much as it does in DFL (a typical GAN power of 0.1 means the
same here). Losses are averaged over the batch, as swapdeck's are.

Departures from DFL, on purpose: the background style mask is A's own (DFL's last SAEHD
multiplies dst's images by src's mask, a different face's); total variation is taken over
rows and columns (DFL's, written for channels-last, runs over channels and columns when
channels come first); the discriminators step on the detached outputs of the generator's
step instead of a second forward pass. As in DFL they step at the generator's learning rate
with the generator's kind of optimizer (DFL: AdaBelief by default, else RMSprop), which the
trainer passes in; Adam when it does not.

Checkpoints: `state_dict()` gives tensors named PREFIX + ... (for a checkpoint's `extra`
tensors, beside the clipper's "clip.") and JSON (for its state, under STATE_KEY); a
checkpoint without them, or with a discriminator built otherwise, starts that part fresh.

Random numbers: the discriminators are initialised from seed-derived generators, and colour
transfer draws from its own generator, saved with the rest: a resumed run repeats itself.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pipeline.train.augment import AugmentedBatch
from pipeline.train.checkpoint import join_optimizer, split_optimizer
from pipeline.train.data import SideData
from pipeline.train.discriminators import CodeDiscriminator, PatchDiscriminator
from pipeline.train.models.registry import ModelOutput, SwapModel
from pipeline.train.sample_colour import COLOUR_MODES, transfer_pairs
from store.requests.options import field_problems, known_names
from pipeline.train.sampler import batch_tensors

SOURCE, DESTINATION = "b", "a"   # DFL's src and dst in swapdeck's a-to-b swap
PREFIX = "dfl."                  # every tensor of the extras (in a checkpoint's `extra`)
STATE_KEY = "dfl"                # their JSON, in a checkpoint's state
DFL_SCALE = 0.1                  # DFL's 10 x (DSSIM + MSE) against swapdeck's DSSIM + MSE
MIN_PATCH, MAX_PATCH = 3, 640    # DFL's GAN patch size range
STYLE_WEIGHT = 10_000 / 100      # face style: DFL's 10000 x power / 100
BACKGROUND_WEIGHT = 10 / 100     # background style: DFL's 10 x power / 100
GAN_TV_WEIGHT = 1e-6             # DFL's stabilisers under masked training
GAN_OUTSIDE_WEIGHT = 0.02
STYLE_EPS = 1e-5                 # DFL's floor under a variance before its square root
SSIM_SIGMA, SSIM_K1, SSIM_K2 = 1.5, 0.01, 0.03
# added to the session's seed: far from the trainer's own (seed + 2 x rank, + 1); the same on
# every replica, so the discriminators start alike and rank 0's saved draws fit every rank
SEED_OFFSETS = {"true_face": 1_000_001, "gan": 1_000_002, "colour": 1_000_003}
LABELS = {"true_face": "the true-face code discriminator", "gan": "the GAN discriminator"}
START_LR = 5e-5                  # DFL's; the trainer's learning rate is set at every step

OptimizerFactory = Callable[[list[nn.Parameter]], torch.optim.Optimizer]
GradientAverage = Callable[[nn.Module], None]


def _bounded(default: float, low: float, high: float, text: str) -> Any:
    return field(default=default, metadata={"bounds": (low, high), "help": text})


@dataclass(frozen=True)
class ExtrasSettings:
    """DeepFaceLab's training extras, per run (DFL lets them be turned on late in training)."""

    true_face_power: float = _bounded(0.0, 0.0, 1.0,
        "True face, 0 to 1: train a code discriminator so the swap keeps B's identity "
        "(DFL's typical 0.01; 0 = off).")
    gan_power: float = _bounded(0.0, 0.0, 5.0,
        "GAN, 0 to 5: a patch discriminator sharpens B's skin and eyes; turn it on once "
        "the faces are trained (DFL's typical 0.1; 0 = off).")
    gan_patch_size: int = field(default=0, metadata={
        "bounds": (0, MAX_PATCH), "default_text": "the output size / 8",
        "help": "GAN patch size in pixels, 3 to 640, or 0 for the output size / 8: larger "
                "sees more at once and needs more memory."})
    gan_dims: int = _bounded(16, 4, 512,
        "GAN discriminator width, 4 to 512 filters at its first level (DFL's default 16).")
    face_style_power: float = _bounded(0.0, 0.0, 100.0,
        "Face style, 0 to 100: keep A's colours inside the mask of the swap; start at "
        "0.001 after 10k iterations (it can collapse the model; 0 = off).")
    bg_style_power: float = _bounded(0.0, 0.0, 100.0,
        "Background style, 0 to 100: keep A's surroundings outside the mask of the swap "
        "(DFL's typical 2; it can collapse the model; 0 = off).")
    colour_transfer: str = field(default="none", metadata={"choices": COLOUR_MODES,
        "help": "Move each B training face towards the colours of a random A face: rct, "
                "lct, mkl, idt or sot (DFL's ct_mode), or none."})

    def __post_init__(self) -> None:
        problems = field_problems(self)
        if not problems and 0 < self.gan_patch_size < MIN_PATCH:
            problems.append(f"gan_patch_size is 0 (automatic) or {MIN_PATCH} to {MAX_PATCH}, "
                            f"not {self.gan_patch_size}")
        if problems:
            raise ValueError("; ".join(problems))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExtrasSettings:
        """From a stored or edited dict; unknown names are refused."""
        return cls(**known_names(cls, data, "training extra"))

    def losses_on(self) -> bool:
        """Whether any extra adds to the generator's loss (colour transfer does not)."""
        return any((self.true_face_power, self.gan_power, self.face_style_power,
                    self.bg_style_power))

    def patch_size(self, output_size: int) -> int:
        """The GAN patch size for a model's output size (automatic: a DFL-sized eighth)."""
        return self.gan_patch_size or max(MIN_PATCH, output_size // 8)


class ExtrasState(NamedTuple):
    """What a checkpoint keeps of the extras."""

    tensors: dict[str, Tensor]   # every name starts with PREFIX (others are ignored)
    meta: dict[str, Any]         # JSON: what each discriminator was built for, optimizers


@dataclass
class _Critic:
    """A discriminator with its own optimizer, and what it was built for (JSON)."""

    module: nn.Module
    optimizer: torch.optim.Optimizer
    build: dict[str, Any]


class Extras:
    """The extras of one run, for the trainer to call at each step (see the module doc).

    Per side, `generator_terms` gives the loss to add to that side's; after the optimizer
    step, `discriminator_step` trains the discriminators on what those passes left.
    `masked` is DFL's masked training (swapdeck's penalized_mask_loss): the GAN sees only
    the face inside its mask. `bf16`: the discriminators and the extra decodes run under
    bfloat16 autocast, as the model does. `make_optimizer` builds each discriminator's
    optimizer (DFL uses the generator's kind; Adam when not given); `average_gradients`
    averages a discriminator's gradients over the replicas before its step.
    """

    def __init__(self, settings: ExtrasSettings, model: SwapModel, device: torch.device, *,
                 seed: int, masked: bool = True, bf16: bool = False,
                 make_optimizer: OptimizerFactory | None = None,
                 average_gradients: GradientAverage | None = None) -> None:
        self.settings, self.model, self.device = settings, model, torch.device(device)
        self.seed, self.masked, self.bf16 = seed, masked, bf16
        self.make_optimizer = make_optimizer or _adam
        self.average_gradients = average_gradients
        self.size = model.config.output_size
        self.colour_generator = torch.Generator()
        self.critics: dict[str, _Critic] = {}
        self._pending: dict[str, Tensor] = {}
        self.reset()

    def reset(self) -> None:
        """Fresh discriminators, optimizers and colour draws (as a run from iteration 0)."""
        self.colour_generator.manual_seed(self.seed + SEED_OFFSETS["colour"])
        self.critics = {name: self._build(name) for name in self._wanted()}
        self._pending.clear()

    def active(self) -> bool:
        """Whether generator_terms can add anything (the trainer may skip it when not)."""
        return self.settings.losses_on()

    def modules(self) -> dict[str, nn.Module]:
        """The discriminators in use, by name ("true_face", "gan"); none when both are off."""
        return {name: critic.module for name, critic in self.critics.items()}

    # ---- the generator's side ----------------------------------------------------------

    def generator_terms(self, side: str, code: Tensor, output: ModelOutput,
                        batch: AugmentedBatch, channels: dict[str, Tensor]) -> Tensor:
        """The extra loss of one side's pass (float32 scalar; exactly 0 when none applies).

        `code` is model.encode(batch.inputs) with its graph (the true-face and background
        terms send gradients through it), `output` model.decode(code, side), `channels` the
        batch's masks by name ("face" is used; without it the whole image counts).
        """
        if side not in (SOURCE, DESTINATION):
            raise ValueError(f"side must be 'a' or 'b', got {side!r}")
        if "true_face" in self.critics:
            self._pending[f"code_{side}"] = code.detach()
        face_mask = channels.get("face")
        if face_mask is None:
            face_mask = torch.ones_like(batch.targets[:, :1])
        with torch.autocast(self.device.type, enabled=False):
            if side == DESTINATION:
                total = self._style_terms(code, output, batch.targets, face_mask.float())
            else:
                total = self._source_terms(code, output, batch.targets, face_mask.float())
        return total * DFL_SCALE

    def _source_terms(self, code: Tensor, output: ModelOutput, targets: Tensor,
                      face_mask: Tensor) -> Tensor:
        total = targets.new_zeros((), dtype=torch.float32)
        if "true_face" in self.critics:
            logits = self._code_logits(code)
            total = total + self.settings.true_face_power * _bce(logits, 1.0)
        if "gan" in self.critics:
            total = total + self._gan_term(output.face.float(), targets.float(), face_mask)
        return total

    def _gan_term(self, face: Tensor, targets: Tensor, face_mask: Tensor) -> Tensor:
        mask = dfl_mask_blur(face_mask, self.size)
        fake, real = (face * mask, targets * mask) if self.masked else (face, targets)
        self._pending["fake"], self._pending["real"] = fake.detach(), real.detach()
        center, pixels = self._patch_logits(fake)
        term = self.settings.gan_power * (_bce(center, 1.0) + _bce(pixels, 1.0))
        if self.masked:
            outside = ((face - targets) * (1 - mask)).square().mean()
            term = term + GAN_TV_WEIGHT * total_variation(face).mean() \
                + GAN_OUTSIDE_WEIGHT * outside
        return term

    def _style_terms(self, code: Tensor, output: ModelOutput, targets: Tensor,
                     face_mask: Tensor) -> Tensor:
        total = targets.new_zeros((), dtype=torch.float32)
        settings = self.settings
        if settings.face_style_power:
            with self._autocast():
                swap = self.model.decode(code.detach(), SOURCE)
            swap_mask = face_mask if swap.mask is None else swap.mask.detach().float()
            own_mask = face_mask if output.mask is None else output.mask.float()
            style = (output.face.float() * own_mask).detach()
            total = total + STYLE_WEIGHT * settings.face_style_power * style_loss(
                swap.face.float() * swap_mask, style, self.size // 8).mean()
        if settings.bg_style_power:
            outside = 1 - dfl_mask_blur(face_mask, self.size)
            with self._autocast():
                swap_face = self.model.decode(code, SOURCE).face.float()
            made, wanted = swap_face * outside, targets.float() * outside
            window = max(1, int(self.size / 11.6))
            total = total + BACKGROUND_WEIGHT * settings.bg_style_power * (
                dssim(made, wanted, window).mean() + (made - wanted).square().mean())
        return total

    # ---- the discriminators' side -------------------------------------------------------

    def discriminator_step(self, learning_rate: float, epsilon: float) -> dict[str, float]:
        """One optimizer step of each discriminator on the detached codes and faces of this
        iteration's passes; their losses by name. Non-finite gradients step nothing (the
        loss is returned: a NaN in the generator's loss follows and rolls the run back)."""
        pending, self._pending = self._pending, {}
        losses: dict[str, float] = {}
        if "true_face" in self.critics and {"code_a", "code_b"} <= pending.keys():
            def code_loss() -> Tensor:
                return (_bce(self._code_logits(pending["code_a"]), 1.0)
                        + _bce(self._code_logits(pending["code_b"]), 0.0)) / 2
            losses["true_face"] = self._train("true_face", learning_rate, epsilon, code_loss)
        if "gan" in self.critics and "fake" in pending:
            def patch_loss() -> Tensor:
                return _gan_critic_loss(self._patch_logits(pending["real"]),
                                        self._patch_logits(pending["fake"]))
            losses["gan"] = self._train("gan", learning_rate, epsilon, patch_loss)
        return losses

    def _train(self, name: str, learning_rate: float, epsilon: float,
               loss_of: Callable[[], Tensor]) -> float:
        critic = self.critics[name]
        for group in critic.optimizer.param_groups:
            group["lr"], group["eps"] = learning_rate, epsilon
        with _trainable(critic.module):
            loss = loss_of()
            loss.backward()
        if self.average_gradients is not None:   # every replica, NaN or not: none waits
            self.average_gradients(critic.module)
        gradients = [p.grad for p in critic.module.parameters() if p.grad is not None]
        if torch.isfinite(torch.stack(torch._foreach_norm(gradients))).all():
            critic.optimizer.step()
        critic.optimizer.zero_grad(set_to_none=True)   # no gradients held between steps
        return float(loss.detach())

    def _code_logits(self, code: Tensor) -> Tensor:
        """The code discriminator's logits, float32 (convolutions under the run's autocast)."""
        with self._autocast():
            return self.critics["true_face"].module(code).float()

    def _patch_logits(self, faces: Tensor) -> tuple[Tensor, Tensor]:
        """The patch discriminator's (center, pixels) logits, float32."""
        with self._autocast():
            center, pixels = self.critics["gan"].module(faces)
        return center.float(), pixels.float()

    # ---- colour transfer ----------------------------------------------------------------

    def recolour(self, side: str, images: Tensor, references: SideData) -> Tensor:
        """B's training faces (N x 3 x S x S from its sampler, before augmentation) moved
        towards the colours of random faces of `references` (side A's data), as DFL's
        ct_mode; other sides, and mode none, come back unchanged."""
        mode = self.settings.colour_transfer
        if mode == "none" or side != SOURCE:
            return images
        rows = references.sampler.rows
        picks = torch.randint(len(rows), (len(images),), generator=self.colour_generator)
        others, _ = batch_tensors(references.cache, rows[picks.numpy()], images.device)
        return transfer_pairs(images, others, mode, self.colour_generator)

    # ---- saving and resuming ------------------------------------------------------------

    def state_dict(self) -> ExtrasState:
        """Copies (on the CPU) of everything a resumed run needs to repeat this one."""
        tensors = {f"{PREFIX}rng.colour": self.colour_generator.get_state().clone()}
        meta: dict[str, Any] = {}
        for name, critic in self.critics.items():
            tensors |= {f"{PREFIX}{name}.{key}": _cpu(value)
                        for key, value in critic.module.state_dict().items()}
            flat: dict[str, Tensor] = {}
            optimizer = split_optimizer(critic.optimizer.state_dict(), flat)
            tensors |= {f"{PREFIX}{name}_{key}": _cpu(value) for key, value in flat.items()}
            meta[name] = {"build": critic.build, "optimizer": optimizer}
        return ExtrasState(tensors, meta)

    def load_state_dict(self, state: ExtrasState) -> list[str]:
        """Continue from a saved state; what could not be (a discriminator the checkpoint
        lacks or built otherwise) starts fresh. Returns a line for the log about each."""
        self._pending.clear()
        tensors, meta, notes = state.tensors, state.meta, []
        colour = tensors.get(f"{PREFIX}rng.colour")
        if colour is not None:
            self.colour_generator.set_state(colour)
        elif self.settings.colour_transfer != "none":
            self.colour_generator.manual_seed(self.seed + SEED_OFFSETS["colour"])
            notes.append("colour transfer starts its random draws afresh: the checkpoint "
                         "has none")
        for name in self.critics:
            saved = meta.get(name)
            if saved is not None and saved["build"] == self.critics[name].build:
                self._load_critic(name, tensors, saved["optimizer"])
                continue
            self.critics[name] = self._build(name)
            why = "has none" if saved is None else (
                f"has one built for {saved['build']}, not {self.critics[name].build}")
            notes.append(f"{LABELS[name]} starts fresh: the checkpoint {why}")
        for name in sorted(meta.keys() - self.critics.keys()):
            notes.append(f"{LABELS[name]} of the checkpoint is set aside (its power is 0 now) "
                         "and will not be saved")
        return notes

    def _load_critic(self, name: str, tensors: dict[str, Tensor],
                     optimizer: dict[str, Any]) -> None:
        critic = self.critics[name]
        weights = f"{PREFIX}{name}."
        critic.module.load_state_dict({key[len(weights):]: value for key, value
                                       in tensors.items() if key.startswith(weights)})
        moments = f"{PREFIX}{name}_"
        flat = {key[len(moments):]: value for key, value in tensors.items()
                if key.startswith(moments)}
        critic.optimizer.load_state_dict(join_optimizer(optimizer, flat))

    # ---- building -----------------------------------------------------------------------

    def _wanted(self) -> list[str]:
        return [name for name, power in (("true_face", self.settings.true_face_power),
                                          ("gan", self.settings.gan_power)) if power]

    def _build(self, name: str) -> _Critic:
        """A discriminator with weights from its own seed (the global generator untouched)."""
        build = self._architecture(name)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed + SEED_OFFSETS[name])
            if name == "true_face":
                channels, size, _ = build["code"]
                module: nn.Module = CodeDiscriminator(channels, size)
            else:
                module = PatchDiscriminator(build["patch_size"], 3, build["dims"])
        module = module.to(self.device).requires_grad_(False)
        return _Critic(module, self.make_optimizer(list(module.parameters())), build)

    def _architecture(self, name: str) -> dict[str, Any]:
        """What a discriminator is built for (JSON; a checkpoint's must match to load)."""
        if name == "true_face":
            return {"code": list(self._code_shape())}
        return {"size": self.size, "patch_size": self.settings.patch_size(self.size),
                "dims": self.settings.gan_dims}

    @torch.no_grad()
    def _code_shape(self) -> tuple[int, int, int]:
        """The shape of the model's code, from one blank face (eval mode: no side effects)."""
        size = self.model.config.input_size
        training = self.model.training
        self.model.eval()
        try:
            code = self.model.encode(torch.zeros(1, 3, size, size, device=self.device))
        finally:
            self.model.train(training)
        if code.ndim != 4:
            raise ValueError(f"true face needs a model whose code is a feature map (C x H x "
                             f"W); {self.model.name}'s has shape {tuple(code.shape[1:])}: set "
                             "true_face_power to 0")
        return code.shape[1], code.shape[2], code.shape[3]

    def _autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)


# ---- DFL's losses, float32 --------------------------------------------------------------

def _bce(logits: Tensor, label: float) -> Tensor:
    """DFL's DLoss: sigmoid cross-entropy against a constant label, averaged."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))


def _gan_critic_loss(real: tuple[Tensor, Tensor], fake: tuple[Tensor, Tensor]) -> Tensor:
    """DFL's D_src loss: real 1 and fake 0, for the center and the pixel logits."""
    return sum((_bce(r, 1.0) + _bce(f, 0.0)) / 2 for r, f in zip(real, fake))


def gaussian_kernel(size: int, sigma: float, device: torch.device) -> Tensor:
    """A normalised 1-D gaussian of `size` taps centred on the middle."""
    coords = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2
    weights = torch.exp(-coords.square() / (2 * sigma ** 2))
    return weights / weights.sum()


def _separable(batch: Tensor, kernel: Tensor, padding: int) -> Tensor:
    channels, size = batch.shape[1], len(kernel)
    rows = kernel.view(1, 1, 1, size).expand(channels, 1, 1, size)
    columns = kernel.view(1, 1, size, 1).expand(channels, 1, size, 1)
    batch = F.conv2d(batch, rows, padding=(0, padding), groups=channels)
    return F.conv2d(batch, columns, padding=(padding, 0), groups=channels)


def dfl_blur(batch: Tensor, radius: float) -> Tensor:
    """DFL's gaussian_blur: sigma = radius, max(3, int(4 radius)) taps made odd, zero
    padding, same size out."""
    size = max(3, int(4 * radius))
    size += 1 - size % 2
    return _separable(batch, gaussian_kernel(size, radius, batch.device), size // 2)


def dfl_mask_blur(mask: Tensor, image_size: int) -> Tensor:
    """DFL's training mask: blurred with radius max(1, size // 32), clipped at 0.5, doubled."""
    return dfl_blur(mask, max(1, image_size // 32)).clamp(0, 0.5) * 2


def style_loss(content: Tensor, style: Tensor, radius: int) -> Tensor:
    """DFL's style loss per image (N,), weight 1: both blurred (radius > 0), then the
    squared differences of each channel's mean and spread, summed, over the channels."""
    if radius > 0:
        content, style = dfl_blur(content, radius), dfl_blur(style, radius)
    content_var, content_mean = torch.var_mean(content, dim=(2, 3), correction=0)
    style_var, style_mean = torch.var_mean(style, dim=(2, 3), correction=0)
    spread = (content_var + STYLE_EPS).sqrt() - (style_var + STYLE_EPS).sqrt()
    return ((content_mean - style_mean).square() + spread.square()).sum(1) / content.shape[1]


def dssim(predicted: Tensor, target: Tensor, window: int) -> Tensor:
    """DFL's DSSIM per image (N,): (1 - SSIM) / 2 with a `window`-tap gaussian (sigma 1.5)
    over valid positions (faceswap's SSIM in losses.py has a fixed 11-tap window)."""
    channels = predicted.shape[1]
    kernel = gaussian_kernel(window, SSIM_SIGMA, predicted.device)
    means = _separable(torch.cat([predicted, target, predicted * target,
                                  predicted.square() + target.square()], dim=1), kernel, 0)
    mean_p, mean_t, mean_pt, mean_squares = means.split(channels, dim=1)
    c1, c2 = SSIM_K1 ** 2, SSIM_K2 ** 2
    luminance_num = 2 * mean_p * mean_t
    luminance_den = mean_p.square() + mean_t.square()
    luminance = (luminance_num + c1) / (luminance_den + c1)
    contrast = (2 * mean_pt - luminance_num + c2) / (mean_squares - luminance_den + c2)
    return (1 - (luminance * contrast).mean(dim=(1, 2, 3))) / 2


def total_variation(images: Tensor) -> Tensor:
    """DFL's total_variation_mse per image (N,): summed squared steps along rows and
    columns."""
    rows = (images[:, :, 1:] - images[:, :, :-1]).square().sum(dim=(1, 2, 3))
    columns = (images[..., 1:] - images[..., :-1]).square().sum(dim=(1, 2, 3))
    return rows + columns


@contextmanager
def _trainable(module: nn.Module) -> Iterator[None]:
    """Gradients for a discriminator's weights only while it trains: the generator's
    backward pass leaves them alone."""
    module.requires_grad_(True)
    try:
        yield
    finally:
        module.requires_grad_(False)


def _adam(parameters: list[nn.Parameter]) -> torch.optim.Optimizer:
    return torch.optim.Adam(parameters, lr=START_LR)


def _cpu(tensor: Tensor) -> Tensor:
    return tensor.detach().to("cpu", copy=True).contiguous()
