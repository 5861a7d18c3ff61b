// The vector width the kernels run at: the widest the hardware accelerates, or lower when a test or
// a comparison asks for it, and the alignment helper the kernels' scratch buffers use.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LeNet.Kernels;

/// <summary>Which instruction width the kernels use; tests force each one to cover every path.</summary>
public enum SimdWidth { Scalar = 0, V128 = 128, V256 = 256, V512 = 512 }

public static class Simd
{
    /// <summary>The widest width the hardware accelerates.</summary>
    public static SimdWidth Best { get; } =
        Vector512.IsHardwareAccelerated ? SimdWidth.V512 :
        Vector256.IsHardwareAccelerated ? SimdWidth.V256 :
        Vector128.IsHardwareAccelerated ? SimdWidth.V128 : SimdWidth.Scalar;

    /// <summary>Every width this machine can run, narrowest first (what the kernel tests sweep).</summary>
    public static IReadOnlyList<SimdWidth> Available { get; } =
        Enum.GetValues<SimdWidth>().Where(w => w <= Best).ToArray();

    /// <summary>Whether kernels of <paramref name="width"/> may run now: allowed by <see cref="Width"/> and accelerated.</summary>
    public static bool Allows(SimdWidth width) => width <= Width && width <= Best;

    /// <summary>The width in use; lower it to run the fallbacks (never raise it above <see cref="Best"/>).</summary>
    public static SimdWidth Width { get; set; } = Best;

    /// <summary>Uses <paramref name="width"/> until the returned scope is disposed (tests of the fallbacks).</summary>
    public static IDisposable Use(SimdWidth width)
    {
        var previous = Width;
        Width = width <= Best ? width : Best;
        return new Scope(() => Width = previous);
    }

    sealed class Scope(Action restore) : IDisposable { public void Dispose() => restore(); }

    /// <summary>Floats a scratch buffer needs beyond its layout so that <see cref="Aligned"/> can start it on a cache line.</summary>
    public const int AlignmentSlack = 16;

    /// <summary>
    /// The buffer from its first float on a 64-byte boundary (skipping up to 15): a 512-bit load or
    /// store at a multiple of 16 floats from there then touches one cache line, not two. The address
    /// is taken at each call, so a buffer the GC has moved is still used correctly.
    /// </summary>
    public static unsafe Span<float> Aligned(Span<float> buffer)
    {
        if (buffer.IsEmpty) return buffer;
        nuint address = (nuint)Unsafe.AsPointer(ref buffer[0]);
        int skip = (int)((64 - (address & 63)) & 63) / sizeof(float);
        return buffer[Math.Min(skip, buffer.Length)..];
    }
}
