"""The numba kernels behind ``compiled``: imported only when numba is installed and a draw is large."""
import math

import llvmlite.ir
import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

_f32, _f64 = np.float32, np.float64


@intrinsic
def _fma32(typingctx, a, b, c):
    """llvm.fma.f32: a·b + c rounded once, as the FMA instruction PyTorch's AVX2 build uses."""
    def codegen(context, builder, signature, args):
        f32 = llvmlite.ir.FloatType()
        fma = builder.module.declare_intrinsic("llvm.fma", [f32], llvmlite.ir.FunctionType(f32, [f32] * 3))
        return builder.call(fma, args)
    return types.float32(types.float32, types.float32, types.float32), codegen


@numba.njit(cache=True, nogil=True, inline="always")
def _fused(a, b, c):
    return _fma32(_f32(a), _f32(b), _f32(c))


@intrinsic
def _bits(typingctx, x):
    """The float32's bit pattern as an int32 (a register move, as the AVX code's casts)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int32))
    return types.int32(types.float32), codegen


@intrinsic
def _from_bits(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float32))
    return types.float32(types.int32), codegen


@numba.njit(cache=True, nogil=True, inline="always")
def _log(x):
    """log256_ps for one lane."""
    x = max(x, _f32(1.17549435e-38))
    bits = _bits(x)
    e = _f32((bits >> 23) - 0x7f) + _f32(1)
    x = _from_bits((bits & np.int32(~0x7f800000)) | np.int32(0x3f000000))
    small = x < _f32(0.707106781186547524)
    tmp = x if small else _f32(0)
    x = x - _f32(1)
    e = e - (_f32(1) if small else _f32(0))
    x = x + tmp
    z = x * x
    y = _fused(x, _f32(7.0376836292E-2), _f32(-1.1514610310E-1))
    y = _fused(y, x, _f32(1.1676998740E-1))
    y = _fused(y, x, _f32(-1.2420140846E-1))
    y = _fused(y, x, _f32(1.4249322787E-1))
    y = _fused(y, x, _f32(-1.6668057665E-1))
    y = _fused(y, x, _f32(2.0000714765E-1))
    y = _fused(y, x, _f32(-2.4999993993E-1))
    y = _fused(y, x, _f32(3.3333331174E-1))
    y = y * x
    y = _fused(y, z, e * _f32(-2.12194440e-4))
    y = _fused(-z, _f32(0.5), y)
    return _fused(e, _f32(0.693359375), x + y)


@numba.njit(cache=True, nogil=True, inline="always")
def _sincos(x):
    """sincos256_ps for one lane with x >= 0: (sin x, cos x)."""
    octant = (np.int32(x * _f32(1.27323954473516)) + 1) & ~1
    y = _f32(octant)
    x = _fused(y, _f32(-0.78515625), x)
    x = _fused(y, _f32(-2.4187564849853515625e-4), x)
    x = _fused(y, _f32(-3.77489497744594108e-8), x)
    z = x * x
    c = _fused(z, _f32(2.443315711809948E-005), _f32(-1.388731625493765E-003))
    c = _fused(c, z, _f32(4.166664568298827E-002))
    c = _fused(c * z, z, -(z * _f32(0.5))) + _f32(1)
    s = _fused(z, _f32(-1.9515295891E-4), _f32(8.3321608736E-3))
    s = _fused(s, z, _f32(-1.6666654611E-1))
    s = _fused(s * z, x, x)
    swap = (octant & 2) != 0
    sin = c if swap else s
    cos = s if swap else c
    sin = -sin if (octant & 4) != 0 else sin
    cos = -cos if ((~(octant - 2)) & 4) != 0 else cos
    return sin, cos


@numba.njit(cache=True, nogil=True)
def _pairs(first_words, second_words, cos_out, sin_out):
    """One Box-Muller pair per lane, from the two engine words of the lane (contiguous, so LLVM vectorises)."""
    scale, two_pi = _f32(2.0 ** -24), _f32(2.0 * math.pi)
    for i in range(first_words.shape[0]):
        first = _f32(first_words[i] & np.uint32(0xFFFFFF)) * scale
        second = _f32(second_words[i] & np.uint32(0xFFFFFF)) * scale
        radius = np.sqrt(_f32(-2) * _log(_f32(1) - first))
        sin, cos = _sincos(two_pi * second)
        cos_out[i] = radius * cos
        sin_out[i] = radius * sin


def normals_from_words(words, out):
    """Blocks of 16 engine words → 16 standard normals each (uniforms k·2**-24, then NormalFill16)."""
    blocks = words.reshape(-1, 16)
    first, second = np.ascontiguousarray(blocks[:, :8]).reshape(-1), np.ascontiguousarray(blocks[:, 8:]).reshape(-1)
    cos, sin = np.empty(first.size, np.float32), np.empty(first.size, np.float32)
    _pairs(first, second, cos, sin)
    target = out.reshape(-1, 16)
    target[:, :8] = cos.reshape(-1, 8)
    target[:, 8:] = sin.reshape(-1, 8)


@numba.njit(cache=True, nogil=True)
def unit_uniforms(words, out):
    """out = (word & 0xFFFFFF) · 2**-24: float32 uniforms on [0, 1), one pass."""
    for i in range(words.shape[0]):
        out[i] = _f32(words[i] & np.uint32(0xFFFFFF)) * _f32(2.0 ** -24)


@numba.njit(cache=True, nogil=True)
def unit_uniforms64(words, out):
    """out = the low 53 bits of (high << 32 | low) · 2**-53, from consecutive (high, low) words."""
    for i in range(out.shape[0]):
        out[i] = _f64(words[2 * i] & np.uint32(0x1FFFFF)) * 2.0 ** -21 + _f64(words[2 * i + 1]) * 2.0 ** -53


@numba.njit(cache=True, nogil=True)
def swap_forward(order, partners):
    """Fisher-Yates as randperm runs it: slot i swaps with slot partners[i], for i = 0, 1, ..."""
    for i in range(partners.shape[0]):
        j = partners[i]
        order[i], order[j] = order[j], order[i]


@numba.njit(cache=True, nogil=True)
def _twist(key):
    for i in range(624):
        y = (key[i] & np.uint32(0x80000000)) | (key[(i + 1) % 624] & np.uint32(0x7FFFFFFF))
        value = key[(i + 397) % 624] ^ (y >> np.uint32(1))
        key[i] = value ^ np.uint32(0x9908B0DF) if y & np.uint32(1) else value


@numba.njit(cache=True, nogil=True)
def mt_words(key, pos, out):
    """mt19937's next len(out) tempered words from (key, pos), updating key in place; returns the new pos."""
    done = 0
    while done < out.shape[0]:
        if pos >= 624:
            _twist(key)
            pos = 0
        take = min(624 - pos, out.shape[0] - done)
        for k in range(take):
            y = key[pos + k]
            y ^= y >> np.uint32(11)
            y ^= (y << np.uint32(7)) & np.uint32(0x9D2C5680)
            y ^= (y << np.uint32(15)) & np.uint32(0xEFC60000)
            y ^= y >> np.uint32(18)
            out[done + k] = y
        pos += take
        done += take
    return pos


def box_muller(u, out):
    """Rows of 16 float32 uniforms (multiples of 2**-24) → 16 standard normals each, into ``out``."""
    words = (u.reshape(-1) * np.float32(2.0 ** 24)).astype(np.uint32)
    normals_from_words(words, out.reshape(-1))

