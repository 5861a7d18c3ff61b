using System.Buffers.Binary;
using System.Text;

/// <summary>
/// TorchSharp 0.107's native glue (libLibTorchSharp.so) was linked against GCC 13's libstdc++ and so
/// requires the symbol version GLIBCXX_3.4.32, for one symbol: std::ios_base_library_init(). GCC 13's
/// &lt;iostream&gt; references that symbol only to pull in the version (it is never called); older
/// libstdc++ (Debian 12 has 3.4.30) initialises the standard streams itself. The dynamic loader
/// refuses the library because the version is missing. Marking that one version requirement weak
/// (VER_FLG_WEAK in .gnu.version_r, a two-byte change to the peer's own copy in its build output) lets
/// it load; every other requirement is left as it is.
/// </summary>
static class NativeGlue
{
    const string Library = "libLibTorchSharp.so";
    const string Version = "GLIBCXX_3.4.32";
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 0x2;

    public static void AllowMissingIostreamInit()
    {
        foreach (var path in Directory.EnumerateFiles(AppContext.BaseDirectory, Library, SearchOption.AllDirectories))
        {
            var elf = File.ReadAllBytes(path);
            if (MarkWeak(elf, Version))
            {
                string temp = path + ".tmp";
                File.WriteAllBytes(temp, elf);
                File.Move(temp, path, overwrite: true);
            }
        }
    }

    /// <summary>Sets VER_FLG_WEAK on the version requirement named <paramref name="version"/>; true if it changed.</summary>
    static bool MarkWeak(byte[] elf, string version)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != 'E' || elf[2] != 'L' || elf[3] != 'F' || elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("not a 64-bit little-endian ELF file");
        long sectionTable = (long)U64(elf, 0x28);
        int entrySize = U16(elf, 0x3A), sections = U16(elf, 0x3C);
        bool changed = false;
        for (int i = 0; i < sections; i++)
        {
            int header = checked((int)(sectionTable + (long)i * entrySize));
            if (U32(elf, header + 4) != ShtGnuVerneed) continue;
            int offset = checked((int)U64(elf, header + 24));
            int link = (int)U32(elf, header + 40);
            int strings = checked((int)U64(elf, checked((int)(sectionTable + (long)link * entrySize)) + 24));
            // Elf64_Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32.
            for (int need = offset; ; )
            {
                int count = U16(elf, need + 2);
                int aux = need + (int)U32(elf, need + 8);
                // Elf64_Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32.
                for (int a = 0; a < count; a++)
                {
                    if (Name(elf, strings + (int)U32(elf, aux + 8)) == version && (U16(elf, aux + 4) & VerFlgWeak) == 0)
                    {
                        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(aux + 4), (ushort)(U16(elf, aux + 4) | VerFlgWeak));
                        changed = true;
                    }
                    aux += (int)U32(elf, aux + 12);
                }
                uint next = U32(elf, need + 12);
                if (next == 0) break;
                need += (int)next;
            }
        }
        return changed;
    }

    static string Name(byte[] elf, int at) => Encoding.ASCII.GetString(elf, at, Array.IndexOf(elf, (byte)0, at) - at);
    static ushort U16(byte[] b, int at) => BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(at));
    static uint U32(byte[] b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at));
    static ulong U64(byte[] b, int at) => BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(at));
}
