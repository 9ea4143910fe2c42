using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace ChatPortal.Core.Limits;

/// <summary>
/// The Redis keys of the web layer's counters, from the configured prefix, in the style of Core's
/// <c>RedisKeys</c>: each key is hash-tagged on its one entity (<c>{user:…}</c>, <c>{addr:…}</c>,
/// <c>{account:…}</c>) and no command touches two entities' keys, so it works on Redis Cluster.
/// </summary>
public sealed class LimitKeys(string prefix)
{
    /// <summary>Messages a user sent in the current window: INCR, PEXPIRE on the first.</summary>
    public RedisKey UserMessages(string userId) => $"{prefix}limit:{{user:{userId}}}:messages";

    /// <summary>Messages sent from a client address in the current window.</summary>
    public RedisKey AddressMessages(string address) => $"{prefix}limit:{{addr:{address}}}:messages";

    /// <summary>Failed sign-ins for an account name: hash of <c>n</c> (failures) and <c>until</c> (Redis clock, ms).</summary>
    public RedisKey SignInAccount(string userName) => $"{prefix}signin:{{account:{Digest(userName)}}}";

    /// <summary>Failed sign-ins from a client address.</summary>
    public RedisKey SignInAddress(string address) => $"{prefix}signin:{{addr:{address}}}";

    /// <summary>Account names are whatever a guesser types: a short digest keeps keys bounded and brace-free.</summary>
    private static string Digest(string userName) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(userName.Trim().ToLowerInvariant())))[..32];
}
