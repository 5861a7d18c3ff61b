// Seeded mutation fuzzing: valid inputs of each kind, changed at random (bytes flipped, cut, inserted,
// repeated; JSON fields removed, retyped or given odd values), then fed to a reader whose contract is
// "read it, or throw one of our domain exceptions". The count per test is LENET_FUZZ (default 300, a
// few seconds); set it to 10000 or more for a long run.
using System.Text.Json.Nodes;

namespace LeNet.Tests.Fuzz;

public static class Mutator
{
    public static int Iterations => int.TryParse(Environment.GetEnvironmentVariable("LENET_FUZZ"), out int n) && n > 0 ? n : 300;

    public static byte[] Bytes(byte[] seed, Random rng)
    {
        var b = new List<byte>(seed);
        int edits = 1 + rng.Next(4);
        for (int e = 0; e < edits; e++)
        {
            switch (rng.Next(7))
            {
                case 0: if (b.Count > 0) b[rng.Next(b.Count)] ^= (byte)(1 << rng.Next(8)); break;                  // a bit
                case 1: if (b.Count > 0) b[rng.Next(b.Count)] = (byte)rng.Next(256); break;                          // a byte
                case 2: if (b.Count > 0) b.RemoveAt(rng.Next(b.Count)); break;
                case 3: if (b.Count > 1) { int cut = rng.Next(b.Count / 2, b.Count); b.RemoveRange(cut, b.Count - cut); } break;          // cut the end
                case 4: b.InsertRange(rng.Next(b.Count + 1), Enumerable.Range(0, 1 + rng.Next(16)).Select(_ => (byte)rng.Next(256))); break;
                case 5: if (b.Count > 8) { int at = rng.Next(b.Count - 4), v = rng.Next(4) switch { 0 => 0, 1 => -1, 2 => int.MaxValue, _ => rng.Next() }; for (int k = 0; k < 4; k++) b[at + k] = (byte)(v >> (8 * k)); } break; // a length field
                default: if (b.Count > 0) { int at = rng.Next(b.Count), len = Math.Min(b.Count - at, 1 + rng.Next(64)); b.InsertRange(at, b.GetRange(at, len)); } break; // repeat a run
            }
        }
        return [.. b];
    }

    static readonly JsonNode?[] OddValues = [null, 0, -5, 1e9, 1e308, -1.5, true, false, "", "x", "lenet5", new JsonArray(), new JsonObject(), new JsonArray(1, 2)];

    /// <summary>The JSON with a few fields removed or replaced by values of other types and sizes.</summary>
    public static JsonNode Json(JsonNode seed, Random rng)
    {
        var copy = seed.DeepClone();
        var objects = new List<JsonObject>();
        void Collect(JsonNode? n) { if (n is JsonObject o) { objects.Add(o); foreach (var (_, v) in o) Collect(v); } else if (n is JsonArray a) foreach (var v in a) Collect(v); }
        Collect(copy);
        int edits = 1 + rng.Next(3);
        for (int e = 0; e < edits && objects.Count > 0; e++)
        {
            var o = objects[rng.Next(objects.Count)];
            if (o.Count == 0) continue;
            string key = o.ElementAt(rng.Next(o.Count)).Key;
            if (rng.Next(4) == 0) o.Remove(key);
            else o[key] = OddValues[rng.Next(OddValues.Length)]?.DeepClone();
        }
        return copy;
    }
}
