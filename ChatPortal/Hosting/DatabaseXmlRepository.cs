using System.Xml.Linq;
using ChatPortal.Core.Storage;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.EntityFrameworkCore;

namespace ChatPortal.Hosting;

/// <summary>
/// The Data Protection key ring in the database (table <c>data_protection_keys</c>), shared by every node and
/// kept across Redis wipes. Keys are written once and never updated; the key manager decides which is current.
/// </summary>
internal sealed class DatabaseXmlRepository(IDbContextFactory<ChatPortalDbContext> contexts) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var db = contexts.CreateDbContext();
        return [.. db.DataProtectionKeys.AsNoTracking().Where(k => k.Xml != null).AsEnumerable().Select(k => XElement.Parse(k.Xml!))];
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var db = contexts.CreateDbContext();
        db.DataProtectionKeys.Add(new DataProtectionKeyRecord { FriendlyName = friendlyName, Xml = element.ToString(SaveOptions.DisableFormatting) });
        db.SaveChanges();
    }
}
