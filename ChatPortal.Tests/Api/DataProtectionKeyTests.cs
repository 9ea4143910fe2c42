using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ChatPortal.Core.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace ChatPortal.Tests.Api;

/// <summary>The key ring lives in the database (so cookies survive a Redis wipe), encrypted when a certificate is configured.</summary>
public sealed class DataProtectionKeyTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("chatportal-keys-");

    [Fact]
    public async Task TheKeyRingIsStoredInTheDatabase()
    {
        using var node = new ChatPortalNode("node-keys");

        var xml = await FirstKeyAsync(node);

        Assert.Contains("<key ", xml, StringComparison.Ordinal);
        Assert.Contains("<masterKey", xml, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithACertificateConfiguredTheStoredKeysAreEncrypted()
    {
        var pfx = Path.Combine(_directory.FullName, "keys.pfx");
        using (var rsa = RSA.Create(2048))
        {
            var request = new CertificateRequest("CN=chatportal-keys", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
            await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, "secret"));
        }

        using var node = new ChatPortalNode("node-keys-encrypted", new Dictionary<string, string?>
        {
            ["ChatPortal:DataProtection:CertificatePath"] = pfx,
            ["ChatPortal:DataProtection:CertificatePassword"] = "secret",
        });

        var xml = await FirstKeyAsync(node);

        Assert.Contains("EncryptedData", xml, StringComparison.Ordinal);
        Assert.DoesNotContain("<value>", xml, StringComparison.Ordinal);
    }

    /// <summary>A first request mints an identity cookie, which creates the key ring; the stored XML of its key.</summary>
    private static async Task<string> FirstKeyAsync(ChatPortalNode node)
    {
        using var http = new HttpClient { BaseAddress = node.BaseAddress };
        (await http.GetAsync("api/conversations")).EnsureSuccessStatusCode();
        await using var db = await node.Services.GetRequiredService<IDbContextFactory<ChatPortalDbContext>>().CreateDbContextAsync();
        var key = await db.DataProtectionKeys.AsNoTracking().OrderBy(k => k.Id).FirstAsync();
        return key.Xml!;
    }

    public void Dispose() => _directory.Delete(recursive: true);
}
