// One vector type per width behind one interface, so a kernel's body is written once, generic over
// the width, and the JIT compiles it for each (as System.Numerics.Tensors' operator structs are).
// Lanes1 is a plain float: the same body then serves as the scalar tail and the scalar reference.
// The wrappers hold one hardware vector each and inline away; operators are the plain ones (a
// multiply then an add, never fused), so every width computes the same floats element by element.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace LeNet.Kernels;

/// <summary>A vector of <see cref="Count"/> floats with the operations the kernels use.</summary>
public interface IVector<TSelf> where TSelf : struct, IVector<TSelf>
{
    static abstract int Count { get; }
    /// <summary>Whether this width runs on vector hardware here (Lanes1 always does).</summary>
    static abstract bool IsAccelerated { get; }
    static abstract TSelf Zero { get; }
    static abstract TSelf Create(float value);
    static abstract TSelf Load(ref float source, nuint offset);
    static abstract void Store(TSelf value, ref float destination, nuint offset);
    /// <summary>Count bytes from source + offset, each as a float (0 to 255).</summary>
    static abstract TSelf LoadBytes(ref byte source, nuint offset);
    static abstract TSelf operator +(TSelf a, TSelf b);
    static abstract TSelf operator -(TSelf a, TSelf b);
    static abstract TSelf operator *(TSelf a, TSelf b);
    static abstract TSelf operator /(TSelf a, TSelf b);
    /// <summary>a·b + c, fused (one rounding) where the hardware has FMA, else a multiply then an add.</summary>
    static abstract TSelf MultiplyAdd(TSelf a, TSelf b, TSelf c);
    /// <summary>sum = MultiplyAdd(a, b, sum). Kernels accumulate in this form: with the returned form the
    /// JIT often computes into a factor's register and copies it back to the sum's, an extra instruction
    /// per multiply-add (about 9% of a 12-accumulator tile's time). Implementations choose fused or not
    /// with an if statement: a conditional expression there makes the JIT keep the sums on the stack.</summary>
    static abstract void Accumulate(ref TSelf sum, TSelf a, TSelf b);
    static abstract TSelf Sqrt(TSelf a);
    static abstract TSelf Max(TSelf a, TSelf b);
    /// <summary>a where mask &gt; 0, else zero: relu's gradient, dy where y &gt; 0.</summary>
    static abstract TSelf WherePositive(TSelf mask, TSelf a);
    static abstract float Sum(TSelf a);
}

public struct Lanes1 : IVector<Lanes1>
{
    float _v;   // not readonly: Accumulate writes it in place
    Lanes1(float v) => _v = v;
    public static int Count => 1;
    public static bool IsAccelerated => true;
    public static Lanes1 Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes1 Create(float value) => new(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes1 Load(ref float source, nuint offset) => new(Unsafe.Add(ref source, offset));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Lanes1 value, ref float destination, nuint offset) => Unsafe.Add(ref destination, offset) = value._v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes1 LoadBytes(ref byte source, nuint offset) => new(Unsafe.Add(ref source, offset));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes1 operator +(Lanes1 a, Lanes1 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes1 operator -(Lanes1 a, Lanes1 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes1 operator *(Lanes1 a, Lanes1 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes1 operator /(Lanes1 a, Lanes1 b) => new(a._v / b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes1 MultiplyAdd(Lanes1 a, Lanes1 b, Lanes1 c) =>
        new(Fma.IsSupported || AdvSimd.IsSupported ? MathF.FusedMultiplyAdd(a._v, b._v, c._v) : a._v * b._v + c._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Accumulate(ref Lanes1 sum, Lanes1 a, Lanes1 b)
    {
        if (Fma.IsSupported || AdvSimd.IsSupported) sum._v = MathF.FusedMultiplyAdd(a._v, b._v, sum._v);
        else sum._v = a._v * b._v + sum._v;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes1 Sqrt(Lanes1 a) => new(MathF.Sqrt(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes1 Max(Lanes1 a, Lanes1 b) => new(float.MaxNative(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes1 WherePositive(Lanes1 mask, Lanes1 a) => new(mask._v > 0 ? a._v : 0f);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Lanes1 a) => a._v;
}

public struct Lanes128 : IVector<Lanes128>
{
    Vector128<float> _v;   // not readonly: Accumulate writes it in place
    Lanes128(Vector128<float> v) => _v = v;
    public static int Count => Vector128<float>.Count;
    public static bool IsAccelerated => Vector128.IsHardwareAccelerated;
    public static Lanes128 Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 Create(float value) => new(Vector128.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 Load(ref float source, nuint offset) => new(Vector128.LoadUnsafe(ref source, offset));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Lanes128 value, ref float destination, nuint offset) => value._v.StoreUnsafe(ref destination, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 LoadBytes(ref byte source, nuint offset)
    {
        var bytes = Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref source, offset))).AsByte();
        if (Sse41.IsSupported) return new(Vector128.ConvertToSingle(Sse41.ConvertToVector128Int32(bytes)));
        return new(Vector128.ConvertToSingle(Vector128.WidenLower(Vector128.WidenLower(bytes))));
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 operator +(Lanes128 a, Lanes128 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 operator -(Lanes128 a, Lanes128 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 operator *(Lanes128 a, Lanes128 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 operator /(Lanes128 a, Lanes128 b) => new(a._v / b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 MultiplyAdd(Lanes128 a, Lanes128 b, Lanes128 c) =>
        new(Fma.IsSupported || AdvSimd.IsSupported ? Vector128.FusedMultiplyAdd(a._v, b._v, c._v) : a._v * b._v + c._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Accumulate(ref Lanes128 sum, Lanes128 a, Lanes128 b)
    {
        if (Fma.IsSupported || AdvSimd.IsSupported) sum._v = Vector128.FusedMultiplyAdd(a._v, b._v, sum._v);
        else sum._v = a._v * b._v + sum._v;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 Sqrt(Lanes128 a) => new(Vector128.Sqrt(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 Max(Lanes128 a, Lanes128 b) => new(Vector128.MaxNative(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 WherePositive(Lanes128 mask, Lanes128 a) =>
        new(Vector128.ConditionalSelect(Vector128.GreaterThan(mask._v, Vector128<float>.Zero), a._v, Vector128<float>.Zero));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Lanes128 a) => Vector128.Sum(a._v);
}

public struct Lanes256 : IVector<Lanes256>
{
    Vector256<float> _v;   // not readonly: Accumulate writes it in place
    Lanes256(Vector256<float> v) => _v = v;
    public static int Count => Vector256<float>.Count;
    public static bool IsAccelerated => Vector256.IsHardwareAccelerated;
    public static Lanes256 Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Create(float value) => new(Vector256.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Load(ref float source, nuint offset) => new(Vector256.LoadUnsafe(ref source, offset));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Lanes256 value, ref float destination, nuint offset) => value._v.StoreUnsafe(ref destination, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 LoadBytes(ref byte source, nuint offset)
    {
        var bytes = Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref source, offset))).AsByte();
        if (Avx2.IsSupported) return new(Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(bytes)));
        var halves = Vector128.WidenLower(bytes);
        return new(Vector256.ConvertToSingle(Vector256.Create(Vector128.WidenLower(halves), Vector128.WidenUpper(halves))));
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 operator +(Lanes256 a, Lanes256 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 operator -(Lanes256 a, Lanes256 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 operator *(Lanes256 a, Lanes256 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 operator /(Lanes256 a, Lanes256 b) => new(a._v / b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 MultiplyAdd(Lanes256 a, Lanes256 b, Lanes256 c) =>
        new(Fma.IsSupported ? Vector256.FusedMultiplyAdd(a._v, b._v, c._v) : a._v * b._v + c._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Accumulate(ref Lanes256 sum, Lanes256 a, Lanes256 b)
    {
        if (Fma.IsSupported) sum._v = Vector256.FusedMultiplyAdd(a._v, b._v, sum._v);
        else sum._v = a._v * b._v + sum._v;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Sqrt(Lanes256 a) => new(Vector256.Sqrt(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Max(Lanes256 a, Lanes256 b) => new(Vector256.MaxNative(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 WherePositive(Lanes256 mask, Lanes256 a) =>
        new(Vector256.ConditionalSelect(Vector256.GreaterThan(mask._v, Vector256<float>.Zero), a._v, Vector256<float>.Zero));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Lanes256 a) => Vector256.Sum(a._v);
}

public struct Lanes512 : IVector<Lanes512>
{
    Vector512<float> _v;   // not readonly: Accumulate writes it in place
    Lanes512(Vector512<float> v) => _v = v;
    public static int Count => Vector512<float>.Count;
    public static bool IsAccelerated => Vector512.IsHardwareAccelerated;
    public static Lanes512 Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Create(float value) => new(Vector512.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Load(ref float source, nuint offset) => new(Vector512.LoadUnsafe(ref source, offset));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Lanes512 value, ref float destination, nuint offset) => value._v.StoreUnsafe(ref destination, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 LoadBytes(ref byte source, nuint offset)
    {
        var bytes = Vector128.LoadUnsafe(ref Unsafe.Add(ref source, offset));
        if (Avx512F.IsSupported) return new(Vector512.ConvertToSingle(Avx512F.ConvertToVector512Int32(bytes)));
        var lo = Vector128.WidenLower(bytes);
        var hi = Vector128.WidenUpper(bytes);
        return new(Vector512.ConvertToSingle(Vector512.Create(
            Vector256.Create(Vector128.WidenLower(lo), Vector128.WidenUpper(lo)), Vector256.Create(Vector128.WidenLower(hi), Vector128.WidenUpper(hi)))));
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 operator +(Lanes512 a, Lanes512 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 operator -(Lanes512 a, Lanes512 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 operator *(Lanes512 a, Lanes512 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 operator /(Lanes512 a, Lanes512 b) => new(a._v / b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 MultiplyAdd(Lanes512 a, Lanes512 b, Lanes512 c) =>
        new(Avx512F.IsSupported ? Vector512.FusedMultiplyAdd(a._v, b._v, c._v) : a._v * b._v + c._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Accumulate(ref Lanes512 sum, Lanes512 a, Lanes512 b)
    {
        if (Avx512F.IsSupported) sum._v = Vector512.FusedMultiplyAdd(a._v, b._v, sum._v);
        else sum._v = a._v * b._v + sum._v;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Sqrt(Lanes512 a) => new(Vector512.Sqrt(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Max(Lanes512 a, Lanes512 b) => new(Vector512.MaxNative(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 WherePositive(Lanes512 mask, Lanes512 a) =>
        new(Vector512.ConditionalSelect(Vector512.GreaterThan(mask._v, Vector512<float>.Zero), a._v, Vector512<float>.Zero));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Lanes512 a) => Vector512.Sum(a._v);
}
