// Row helpers of the convolution: copies and epilogues over rows of 5 to 32 floats, as whole vectors
// with the last one overlapping the one before (so a row's values may be written twice), instead
// of a general memcpy or TensorPrimitives call per short row.
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LeNet.Kernels;

internal static class Rows
{
    /// <summary>dst = src.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void CopyRow(ref float dst, ref float src, int width)
    {
        if (width >= 8 && Vector256.IsHardwareAccelerated)
        {
            int i = 0;
            for (; i + 8 <= width; i += 8) Vector256.LoadUnsafe(ref src, (nuint)i).StoreUnsafe(ref dst, (nuint)i);
            if (i < width) Vector256.LoadUnsafe(ref src, (nuint)(width - 8)).StoreUnsafe(ref dst, (nuint)(width - 8));
        }
        else for (int i = 0; i < width; i++) Unsafe.Add(ref dst, i) = Unsafe.Add(ref src, i);
    }

    /// <summary>dst = src + bias, then max(·, 0) when relu; whole vectors, the last overlapping (dst is not src).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void BiasRow(ref float dst, ref float src, float bias, int width, bool relu)
    {
        if (width >= 8 && Vector256.IsHardwareAccelerated)
        {
            var b = Vector256.Create(bias);
            var floor = relu ? Vector256<float>.Zero : Vector256.Create(float.NegativeInfinity);
            int i = 0;
            for (; i + 8 <= width; i += 8) Vector256.Max(Vector256.LoadUnsafe(ref src, (nuint)i) + b, floor).StoreUnsafe(ref dst, (nuint)i);
            if (i < width) Vector256.Max(Vector256.LoadUnsafe(ref src, (nuint)(width - 8)) + b, floor).StoreUnsafe(ref dst, (nuint)(width - 8));
        }
        else
            for (int i = 0; i < width; i++)
            {
                float v = Unsafe.Add(ref src, i) + bias;
                Unsafe.Add(ref dst, i) = relu && !(v > 0) ? 0 : v;
            }
    }

    /// <summary>
    /// One plane of dz onto its grid: dst[r·stride + x] = src[r·width + x] for x &lt; width, zero for
    /// width ≤ x &lt; stride, and zero from row <paramref name="height"/> to <paramref name="plane"/>. With
    /// 512-bit vectors and rows of at most 16, a row is one masked vector whose zero lanes run into
    /// the next row, which is written after it; src must then have 16 readable floats from each row's start.
    /// </summary>
    internal static float ToGrid(ref float dst, ref float src, int height, int width, int stride, int plane)
    {
        int done;
        float sum;
        if (Simd.Width == SimdWidth.V512 && Vector512.IsHardwareAccelerated && stride <= 16 && (height - 1) * stride + 16 <= plane)
        {
            var keep = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(width)).AsSingle();
            var total = Vector512<float>.Zero;
            for (int r = 0; r < height; r++)
            {
                var row = Vector512.LoadUnsafe(ref src, (nuint)(r * width)) & keep;
                row.StoreUnsafe(ref dst, (nuint)(r * stride));
                total += row;
            }
            sum = Vector512.Sum(total);
            done = (height - 1) * stride + 16;
        }
        else
        {
            for (int r = 0; r < height; r++)
            {
                CopyRow(ref Unsafe.Add(ref dst, r * stride), ref Unsafe.Add(ref src, r * width), width);
                MemoryMarshal.CreateSpan(ref Unsafe.Add(ref dst, r * stride + width), stride - width).Clear();
            }
            sum = TensorPrimitives.Sum(MemoryMarshal.CreateReadOnlySpan(ref src, height * width));
            done = height * stride;
        }
        MemoryMarshal.CreateSpan(ref Unsafe.Add(ref dst, done), plane - done).Clear();
        return sum;
    }
}
