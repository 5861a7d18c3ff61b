// Bytes to floats for the network's input: background + scale·pixel, a multiply then an add (not
// fused), so every width gives the same floats. Also a hint to the cache for scattered images.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace LeNet.Kernels;

public static class Pixels
{
    /// <summary>destination[i] = offset + scale·source[i] for the bytes of source.</summary>
    public static void ToFloats(ReadOnlySpan<byte> source, Span<float> destination, float scale, float offset)
    {
        if (destination.Length < source.Length) throw new ArgumentException("The destination is shorter than the source.", nameof(destination));
        ref byte s = ref MemoryMarshal.GetReference(source);
        ref float d = ref MemoryMarshal.GetReference(destination);
        nuint i = 0, n = (nuint)source.Length;
        var op = new ByteAffine(scale, offset);
        if (Simd.Allows(SimdWidth.V512)) i = op.Loop<Lanes512>(ref s, ref d, i, n);
        if (Simd.Allows(SimdWidth.V256)) i = op.Loop<Lanes256>(ref s, ref d, i, n);
        if (Simd.Allows(SimdWidth.V128)) i = op.Loop<Lanes128>(ref s, ref d, i, n);
        op.Loop<Lanes1>(ref s, ref d, i, n);
    }

    readonly struct ByteAffine(float scale, float offset)
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public nuint Loop<V>(ref byte s, ref float d, nuint i, nuint n) where V : struct, IVector<V>
        {
            for (nuint step = (nuint)V.Count; i + step <= n; i += step)
                V.Store(V.Create(offset) + V.Create(scale) * V.LoadBytes(ref s, i), ref d, i);
            return i;
        }
    }

    /// <summary>Asks for the cache lines of bytes [0, length) of data (a no-op where the hint is not available).</summary>
    public static unsafe void Prefetch(ReadOnlySpan<byte> data)
    {
        if (!Sse.IsSupported || data.IsEmpty) return;
        fixed (byte* p = data)
        {
            for (int b = 0; b < data.Length; b += 64) Sse.Prefetch0(p + b);
            Sse.Prefetch0(p + data.Length - 1);
        }
    }
}
