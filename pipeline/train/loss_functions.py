"""faceswap's image losses, each scoring every image of a batch on its own.

Every function takes predicted and target batches, N x C x H x W float32 in [0, 1], and
returns one value per image (N,): 0 (its minimum) when the images are the same, growing
as the prediction moves away. Callers cast to float32 first (see `losses.image_loss`).
The constants are faceswap's defaults (lib/model/losses).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

# SSIM as faceswap's DSSIMObjective (after tf.image.ssim): an 11 x 11 gaussian window with
# sigma 1.5, 'valid' positions only, each channel on its own, k1 = 0.01, k2 = 0.03.
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
_C1 = 0.01 ** 2
_C2 = 0.03 ** 2
# MS-SSIM's weight of each scale, finest first (Wang, Simoncelli and Bovik, 2003).
MS_SSIM_POWERS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
# A factor below this is raised to it: x ** power has an infinite slope at 0.
_MS_SSIM_FLOOR = 1e-6
GMSD_C = 0.0025                      # keeps flat areas' similarity at 1
# faceswap's 5 x 5 modified Scharr filter for vertical edges; its transpose finds
# horizontal ones.
_SCHARR = ((0.0007, 0.0052, 0.0370, 0.0052, 0.0007),
           (0.0037, 0.1187, 0.2589, 0.1187, 0.0037),
           (0.0, 0.0, 0.0, 0.0, 0.0),
           (-0.0037, -0.1187, -0.2589, -0.1187, -0.0037),
           (-0.0007, -0.0052, -0.0370, -0.0052, -0.0007))
# Under the variance, so GMSD's square root keeps a finite slope on identical images.
_VARIANCE_FLOOR = 1e-16
FFL_ALPHA = 1.0                      # focal frequency loss: the spectrum weight's exponent
FFL_PATCH_FACTOR = 1                 # ... and the patches per side (1: the whole image)
_FFL_EPSILON = 1e-6
LAPLACIAN_LEVELS = 5
LAPLACIAN_WINDOW = 5
LAPLACIAN_SIGMA = 1.0
SMOOTH_ALPHA = 1.0                   # generalized loss: 1 is a smooth L1 ...
SMOOTH_BETA = 1 / 255                # ... that turns quadratic below one 8-bit step
GRADIENT_ALPHA = 1.9999              # the gradient loss compares gradients nearly as L2


def _gaussian(size: int, sigma: float, device: torch.device) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2
    weights = torch.exp(-coords ** 2 / (2 * sigma ** 2))
    return weights / weights.sum()


def _blur(batch: torch.Tensor, size: int, sigma: float, pad: bool) -> torch.Tensor:
    """Separable gaussian mean per channel: at valid positions only, or over replicated
    edges (`pad`) so the size is kept."""
    channels = batch.shape[1]
    if pad:
        batch = F.pad(batch, (size // 2,) * 4, mode="replicate")
    weights = _gaussian(size, sigma, batch.device)
    rows = weights.view(1, 1, 1, -1).expand(channels, 1, 1, size)
    columns = weights.view(1, 1, -1, 1).expand(channels, 1, size, 1)
    return F.conv2d(F.conv2d(batch, rows, groups=channels), columns, groups=channels)


def _ssim_parts(predicted: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor,
                                                                        torch.Tensor]:
    """(SSIM, contrast-structure), each averaged over the image per channel (N, C)."""
    if min(predicted.shape[-2:]) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW} x {SSIM_WINDOW} pixels, "
                         f"not {tuple(predicted.shape[-2:])}")
    channels = predicted.shape[1]
    means = _blur(torch.cat([predicted, target, predicted * target,
                             predicted * predicted + target * target], dim=1),
                  SSIM_WINDOW, SSIM_SIGMA, pad=False)
    mean_p, mean_t, mean_pt, mean_squares = means.split(channels, dim=1)
    luminance_num = 2 * mean_p * mean_t
    luminance_den = mean_p * mean_p + mean_t * mean_t
    luminance = (luminance_num + _C1) / (luminance_den + _C1)
    # 2 cov(p, t) + c2 over var(p) + var(t) + c2
    contrast = (2 * mean_pt - luminance_num + _C2) / (mean_squares - luminance_den + _C2)
    return (luminance * contrast).mean(dim=(2, 3)), contrast.mean(dim=(2, 3))


def ssim(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean SSIM of each image (N,), H and W at least 11."""
    return _ssim_parts(predicted, target)[0].mean(dim=1)


def ssim_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """faceswap's DSSIM: (1 - SSIM) / 2."""
    return (1 - ssim(predicted, target)) / 2


def ms_ssim_scales(side: int) -> int:
    """How many of MS-SSIM's five scales an image of `side` pixels has room for: each
    halves the last, and SSIM's window must fit in the smallest."""
    scales = 0
    while scales < len(MS_SSIM_POWERS) and side >= SSIM_WINDOW:
        scales += 1
        side = (side + 1) // 2
    return scales


def _halve(batch: torch.Tensor) -> torch.Tensor:
    """2 x 2 average, an odd last row or column repeated first."""
    odd = (0, batch.shape[-1] % 2, 0, batch.shape[-2] % 2)
    if any(odd):
        batch = F.pad(batch, odd, mode="replicate")
    return F.avg_pool2d(batch, 2)


def ms_ssim(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Multi-scale SSIM of each image (N,), as tf.image.ssim_multiscale that faceswap uses:
    the contrast-structure of each finer scale times the SSIM of the coarsest, each raised
    to its power, averaged over channels.

    Five scales need faces of 161 px or more. Smaller faces use as many scales as fit
    (64 px: 3, at 64, 32 and 16 px), with those scales' powers scaled to sum to 1 so the
    loss keeps its range; faceswap shrinks the window instead. Factors are floored at 1e-6
    (faceswap: at 0) so the powers keep finite slopes.
    """
    scales = ms_ssim_scales(min(predicted.shape[-2:]))
    if scales == 0:
        raise ValueError(f"MS-SSIM needs images of at least {SSIM_WINDOW} x {SSIM_WINDOW} "
                         f"pixels, not {tuple(predicted.shape[-2:])}")
    powers = torch.tensor(MS_SSIM_POWERS[:scales], device=predicted.device)
    powers = powers / powers.sum()
    count = predicted.shape[0]
    both = torch.cat([predicted, target])
    factors = []
    for scale in range(scales):
        if scale:
            both = _halve(both)
        whole, structure = _ssim_parts(both[:count], both[count:])
        factors.append(whole if scale == scales - 1 else structure)
    stacked = torch.stack(factors, dim=-1).clamp(min=_MS_SSIM_FLOOR)
    return (stacked ** powers).prod(dim=-1).mean(dim=1)


def ms_ssim_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """faceswap's MS-SSIM loss: 1 - MS-SSIM."""
    return 1 - ms_ssim(predicted, target)


def mae(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (predicted - target).abs().mean(dim=(1, 2, 3))


def mse(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (predicted - target).square().mean(dim=(1, 2, 3))


def logcosh(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean log(cosh(error)): like MSE / 2 for small errors, MAE for large ones. Written as
    log1p(2 sinh(x / 2)^2), which stays exact for the small errors of a trained model."""
    half = (predicted - target) / 2
    return torch.log1p(2 * torch.sinh(half).square()).mean(dim=(1, 2, 3))


def l_inf(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The largest error of each channel, averaged over the channels (faceswap's L-inf)."""
    return (predicted - target).abs().amax(dim=(2, 3)).mean(dim=1)


def generalized_loss(error: torch.Tensor, alpha: float, beta: float) -> torch.Tensor:
    """Barron's general robust loss of an error batch (N,), scaled by beta as faceswap does:
    alpha 1 is a smooth L1, alpha near 2 is L2; beta is where it turns quadratic."""
    bend = abs(2 - alpha)
    inner = (error / beta).square() / bend + 1
    return (bend / alpha * (inner ** (alpha / 2) - 1)).mean(dim=(1, 2, 3)) * beta


def smooth(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """faceswap's smooth_loss: the generalized loss at alpha 1, beta 1/255."""
    return generalized_loss(predicted - target, SMOOTH_ALPHA, SMOOTH_BETA)


def _derivatives(batch: torch.Tensor) -> list[tuple[torch.Tensor, float]]:
    """(derivative, weight) pairs of faceswap's gradient loss: the first (x, y) and second
    (xx, yy, and xy counted twice) derivatives, edges repeated at the borders."""
    padded = F.pad(batch, (1, 1, 1, 1), mode="replicate")
    centre = padded[..., 1:-1, 1:-1]
    left, right = padded[..., 1:-1, :-2], padded[..., 1:-1, 2:]
    up, down = padded[..., :-2, 1:-1], padded[..., 2:, 1:-1]
    diagonal = padded[..., 2:, 2:] + padded[..., :-2, :-2]
    antidiagonal = padded[..., :-2, 2:] + padded[..., 2:, :-2]
    return [((right - left) / 2, 1.0), ((down - up) / 2, 1.0),
            (right + left - 2 * centre, 1.0), (down + up - 2 * centre, 1.0),
            ((diagonal - antidiagonal) / 4, 2.0)]


def gradient_diff(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """faceswap's pixel_gradient_diff (TV + TV2): the generalized loss (alpha 1.9999) of
    the difference of the images' derivatives, first and second order weighted evenly.

    faceswap's xy term builds both of its diagonals from the same pixels and so is always
    0; here it is the true mixed derivative.
    """
    # derivatives are linear: those of the difference are the differences of those
    terms = _derivatives(predicted - target)
    total = sum(weight * generalized_loss(derivative, GRADIENT_ALPHA, SMOOTH_BETA)
                for derivative, weight in terms)
    return total / 2


def _edges(batch: torch.Tensor) -> torch.Tensor:
    """Vertical and horizontal Scharr responses of each channel (N x 2C x H x W)."""
    channels = batch.shape[1]
    vertical = torch.tensor(_SCHARR, dtype=torch.float32, device=batch.device)
    kernel = torch.stack([vertical, vertical.T]).unsqueeze(1).repeat(channels, 1, 1, 1)
    return F.conv2d(F.pad(batch, (2, 2, 2, 2), mode="reflect"), kernel, groups=channels)


def gmsd(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Gradient magnitude similarity deviation: how unevenly the edges agree over the image.

    As in faceswap, each direction's edge response is compared on its own (signed) rather
    than as one magnitude, and the deviation is the sample standard deviation. Blind to an
    even brightness shift, which moves no edge. Images need 3 x 3 pixels or more.
    """
    count = predicted.shape[0]
    edges = _edges(torch.cat([predicted, target]))
    edges_p, edges_t = edges[:count], edges[count:]
    similarity = (2 * edges_p * edges_t + GMSD_C) / (edges_p.square() + edges_t.square() + GMSD_C)
    floor = torch.tensor(_VARIANCE_FLOOR, device=predicted.device)
    return (similarity.flatten(1).var(dim=1) + floor).sqrt() - floor.sqrt()


def _patches(batch: torch.Tensor, factor: int) -> torch.Tensor:
    """N x C x H x W as N x factor² x C x H/factor x W/factor tiles."""
    count, channels, height, width = batch.shape
    tiles = batch.reshape(count, channels, factor, height // factor, factor, width // factor)
    return tiles.permute(0, 2, 4, 1, 3, 5).reshape(
        count, factor * factor, channels, height // factor, width // factor)


def focal_frequency(predicted: torch.Tensor, target: torch.Tensor, alpha: float = FFL_ALPHA,
                    patch_factor: int = FFL_PATCH_FACTOR) -> torch.Tensor:
    """Focal frequency loss (Jiang et al. 2021): the squared distance of the images'
    spectra, each frequency weighted by its own distance (to the power alpha) over the
    largest, so the frequencies the model gets most wrong count most. As in the paper the
    weights carry no gradient. `patch_factor` splits each side into that many tiles."""
    height, width = predicted.shape[-2:]
    if height % patch_factor or width % patch_factor:
        raise ValueError(f"the focal frequency loss's patch factor {patch_factor} must divide "
                         f"the image size {height} x {width}")
    count = predicted.shape[0]
    spectra = torch.fft.fft2(_patches(torch.cat([predicted, target]), patch_factor),
                             norm="ortho")
    difference = spectra[:count] - spectra[count:]
    distance = difference.real.square() + difference.imag.square()
    with torch.no_grad():
        weights = distance.sqrt() ** alpha
        largest = weights.amax(dim=(-2, -1), keepdim=True).clamp(min=_FFL_EPSILON)
        weights = (weights / largest).clamp(0, 1)
    return (weights * distance).mean(dim=(1, 2, 3, 4))


def laplacian_pyramid(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """faceswap's laploss: the MAE of each level of the images' Laplacian pyramids (5 x 5
    gaussian, sigma 1; up to 5 band levels and the remaining low-pass image), level k
    weighted 4^-k. Images under 32 px use as many levels as halving allows."""
    levels = min(LAPLACIAN_LEVELS, int(math.log2(min(predicted.shape[-2:]))))
    count = predicted.shape[0]
    current = torch.cat([predicted, target])
    total = predicted.new_zeros(count)
    for level in range(levels + 1):
        if level == levels:
            band = current
        else:
            blurred = _blur(current, LAPLACIAN_WINDOW, LAPLACIAN_SIGMA, pad=True)
            band, current = current - blurred, F.avg_pool2d(blurred, 2)
        total = total + 4.0 ** -level * mae(band[:count], band[count:])
    return total


LOSS_FUNCTIONS: dict[str, LossFunction] = {
    "ssim": ssim_loss, "mae": mae, "mse": mse, "ms_ssim": ms_ssim_loss, "logcosh": logcosh,
    "gmsd": gmsd, "ffl": focal_frequency, "laploss": laplacian_pyramid, "l_inf": l_inf,
    "gradient_diff": gradient_diff, "smooth": smooth}
LOSSES = tuple(LOSS_FUNCTIONS)
