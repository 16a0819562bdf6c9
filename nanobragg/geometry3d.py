"""Small 3-vector helpers in torch, with the exact operation order of the C program.

All functions take tensors whose last dimension is 3 (x, y, z in the lab frame, x along the
MOSFLM beam) and broadcast over leading dimensions.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.autograd.forward_ad as fwAD


def as_tensor(x, dtype: torch.dtype = torch.float64, device=None) -> torch.Tensor:
    """Keep tensors (and their autograd graph); convert numbers and tuples."""
    if isinstance(x, torch.Tensor):
        return x.to(dtype=dtype, device=device) if device is not None else x.to(dtype)
    return torch.as_tensor(x, dtype=dtype, device=device)


def vec3(x, y, z) -> torch.Tensor:
    """Stack three scalars (numbers or 0-d tensors) into a float64 3-vector."""
    return torch.stack([as_tensor(x), as_tensor(y), as_tensor(z)])


def dot(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """x1*x2 + y1*y2 + z1*z2, summed left to right as C does."""
    return u[..., 0] * v[..., 0] + u[..., 1] * v[..., 1] + u[..., 2] * v[..., 2]


def cross(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return torch.stack(
        [
            u[..., 1] * v[..., 2] - u[..., 2] * v[..., 1],
            u[..., 2] * v[..., 0] - u[..., 0] * v[..., 2],
            u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0],
        ],
        dim=-1,
    )


def sqrt(x: torch.Tensor) -> torch.Tensor:
    """Correctly rounded square root, as C's ``sqrt``.

    torch's vectorised float64 ``sqrt`` on the CPU is not correctly rounded on every build
    (AVX-512 build of torch 2.13: about 1 % of values one ulp off), which moves single pixels of
    large images by one float32 ulp; numpy's is. The gradient is torch's (the values differ by an
    ulp at most; root + (exact - root) is exact, and keeps reverse and forward-mode tangents).
    """
    if x.device.type != "cpu" or x.dtype != torch.float64:
        return torch.sqrt(x)
    with np.errstate(invalid="ignore"):  # NaN below 0, silently, as torch and C
        exact = torch.as_tensor(np.sqrt(x.detach().numpy()))
    if not x.requires_grad and fwAD.unpack_dual(x).tangent is None:
        return exact  # nothing to differentiate: the root alone (one pass, not four)
    root = torch.sqrt(x)
    return root + (exact - root).detach()


def sin_cos(phi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(sin, cos) of ``phi`` with the C library's values, as C's ``sin``/``cos``.

    torch's vectorised float64 sine and cosine on the CPU (used from 16 elements on) differ
    from the C library's by an ulp on ~0.1 % of arguments; numpy calls the C library. As in
    :func:`sqrt`, a differentiable ``phi`` keeps torch's gradients."""
    if phi.device.type != "cpu" or phi.dtype != torch.float64:
        return torch.sin(phi), torch.cos(phi)
    angles = phi.detach().numpy()
    s, c = torch.as_tensor(np.sin(angles)), torch.as_tensor(np.cos(angles))
    if not phi.requires_grad and fwAD.unpack_dual(phi).tangent is None:
        return s, c
    ts, tc = torch.sin(phi), torch.cos(phi)
    return ts + (s - ts).detach(), tc + (c - tc).detach()


def norm(v: torch.Tensor) -> torch.Tensor:
    return sqrt(dot(v, v))


def unitize(v: torch.Tensor) -> torch.Tensor:
    """v/|v|; a zero vector stays zero (as in C)."""
    n = norm(v)
    safe = torch.where(n == 0, torch.ones_like(n), n)
    return torch.where((n == 0)[..., None], torch.zeros_like(v), v / safe[..., None])


def rotate_xyz(v: torch.Tensor, rx, ry, rz) -> torch.Tensor:
    """Rotate about x, then y, then z (right-handed), C's ``rotate``."""
    rx, ry, rz = (as_tensor(a, v.dtype, v.device) for a in (rx, ry, rz))
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    cx, sx = torch.cos(rx), torch.sin(rx)
    y, z = y * cx + z * (-sx), y * sx + z * cx
    cy, sy = torch.cos(ry), torch.sin(ry)
    x, z = x * cy + y * 0.0 + z * sy, x * (-sy) + y * 0.0 + z * cy
    cz, sz = torch.cos(rz), torch.sin(rz)
    x, y = x * cz + y * (-sz), x * sz + y * cz
    return torch.stack([x, y, z], dim=-1)


def rotate_axis(v: torch.Tensor, axis: torch.Tensor, phi) -> torch.Tensor:
    """Rotate v by angle phi (rad, right-handed) about the unit vector ``axis``.

    ``phi`` may be a tensor of angles [...]; the result broadcasts to [..., 3].
    """
    phi = as_tensor(phi, v.dtype, v.device)
    s, c = sin_cos(phi)
    ax, ay, az = axis[..., 0], axis[..., 1], axis[..., 2]
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    d = (ax * x + ay * y + az * z) * (1.0 - c)
    return torch.stack(
        [
            ax * d + x * c + (-az * y + ay * z) * s,
            ay * d + y * c + (az * x - ax * z) * s,
            az * d + z * c + (-ay * x + ax * y) * s,
        ],
        dim=-1,
    )


def rotate_umat(v: torch.Tensor, umat: torch.Tensor) -> torch.Tensor:
    """Apply 3x3 matrices ``umat`` [..., 3, 3] (row-major, as C's 9-element arrays) to v."""
    return torch.stack(
        [
            umat[..., 0, 0] * v[..., 0] + umat[..., 0, 1] * v[..., 1] + umat[..., 0, 2] * v[..., 2],
            umat[..., 1, 0] * v[..., 0] + umat[..., 1, 1] * v[..., 1] + umat[..., 1, 2] * v[..., 2],
            umat[..., 2, 0] * v[..., 0] + umat[..., 2, 1] * v[..., 1] + umat[..., 2, 2] * v[..., 2],
        ],
        dim=-1,
    )


def value(x) -> float:
    """A Python float of a number or 0-d tensor, outside the autograd graph."""
    return float(x.detach()) if isinstance(x, torch.Tensor) else float(x)
