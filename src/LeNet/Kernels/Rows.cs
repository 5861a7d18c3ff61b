// Row helpers of the convolution: copies and epilogues over rows of 5 to 32 floats, as whole vectors
// with the last one overlapping the one before (so a row's values may be written twice), instead
// of a general memcpy or TensorPrimitives call per short row.
using System.Runtime.CompilerServices;
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

    /// <summary>dst = y &gt; 0 ? dy : 0 (relu's gradient), whole vectors with the last overlapping.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ReluGradientRow(ref float dst, ref float y, ref float dy, int width)
    {
        if (width >= 8 && Vector256.IsHardwareAccelerated)
        {
            int i = 0;
            for (; i + 8 <= width; i += 8)
                Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.LoadUnsafe(ref y, (nuint)i), Vector256<float>.Zero),
                    Vector256.LoadUnsafe(ref dy, (nuint)i), Vector256<float>.Zero).StoreUnsafe(ref dst, (nuint)i);
            i = width - 8;
            Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.LoadUnsafe(ref y, (nuint)i), Vector256<float>.Zero),
                Vector256.LoadUnsafe(ref dy, (nuint)i), Vector256<float>.Zero).StoreUnsafe(ref dst, (nuint)i);
        }
        else
            for (int i = 0; i < width; i++) Unsafe.Add(ref dst, i) = Unsafe.Add(ref y, i) > 0 ? Unsafe.Add(ref dy, i) : 0;
    }
}
