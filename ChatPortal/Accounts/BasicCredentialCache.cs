using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Memory;

namespace ChatPortal.Accounts;

/// <summary>
/// Remembers, for a short while, which HTTP Basic credentials were right: checking a password hash costs tens of
/// milliseconds of CPU on purpose, and admin tools call the API often. The entry names the account and its security
/// stamp; a hit still reads the account, so a changed password or a revoked role ends it at once. Keys are keyed
/// hashes (a per-process secret), never the credentials.
/// </summary>
public sealed class BasicCredentialCache : IDisposable
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = 1_000 });
    private readonly byte[] _secret = RandomNumberGenerator.GetBytes(32);

    public VerifiedCredentials? Find(string header) => _cache.Get<VerifiedCredentials>(Key(header));

    public void Remember(string header, VerifiedCredentials verified) =>
        _cache.Set(Key(header), verified, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = Lifetime });

    public void Forget(string header) => _cache.Remove(Key(header));

    public void Dispose() => _cache.Dispose();

    private string Key(string header) => Convert.ToBase64String(HMACSHA256.HashData(_secret, Encoding.UTF8.GetBytes(header)));
}

public sealed record VerifiedCredentials(string UserId, string? SecurityStamp);
