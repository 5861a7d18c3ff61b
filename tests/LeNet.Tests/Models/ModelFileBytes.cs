// A model file's bytes with its JSON header replaced, lengths and checksum made consistent again, as
// a careless or hostile writer could produce it: what the header tests and the fuzzer feed the reader.
using System.Security.Cryptography;

namespace LeNet.Tests.Models;

public static class ModelFileBytes
{
    public static byte[] WithHeader(byte[] file, byte[] header)
    {
        int at = 8 + 4 + 4, old = BitConverter.ToInt32(file, at);   // signature, version, kind, then the header's length
        var body = file[..at].Concat(BitConverter.GetBytes(header.Length)).Concat(header).Concat(file[(at + 4 + old)..^32]).ToArray();
        return [.. body, .. SHA256.HashData(body)];
    }
}
