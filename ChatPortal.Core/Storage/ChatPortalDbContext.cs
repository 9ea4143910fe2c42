using ChatPortal.Core.Conversations;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ChatPortal.Core.Storage;

/// <summary>
/// The system of record. One model, two providers: each provider has its own subclass only so that its
/// migrations (Migrations/Sqlite, Migrations/Postgres) are found for it. Accounts are ASP.NET Core Identity's
/// tables (schema version 3, passkeys included) on the same <c>users</c> table the conversations belong to.
/// </summary>
public abstract class ChatPortalDbContext(DbContextOptions options) : IdentityDbContext<UserRecord, IdentityRole, string>(options)
{
    public DbSet<ConversationRecord> Conversations => Set<ConversationRecord>();

    public DbSet<MessageRecord> Messages => Set<MessageRecord>();

    public DbSet<InstanceRecord> Instances => Set<InstanceRecord>();

    public DbSet<UsageRecord> Usage => Set<UsageRecord>();

    public DbSet<DataProtectionKeyRecord> DataProtectionKeys => Set<DataProtectionKeyRecord>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        AccountTables.Name(modelBuilder);
        modelBuilder.ApplyConfiguration(new UserConfiguration());
        modelBuilder.ApplyConfiguration(new ConversationConfiguration());
        modelBuilder.ApplyConfiguration(new MessageConfiguration());
        modelBuilder.ApplyConfiguration(new InstanceConfiguration());
        modelBuilder.ApplyConfiguration(new UsageConfiguration());
        modelBuilder.ApplyConfiguration(new DataProtectionKeyConfiguration());
    }
}

public sealed class SqliteChatPortalDbContext(DbContextOptions<SqliteChatPortalDbContext> options) : ChatPortalDbContext(options);

public sealed class PostgresChatPortalDbContext(DbContextOptions<PostgresChatPortalDbContext> options) : ChatPortalDbContext(options);

internal static class Lengths
{
    public const int Id = 64;
    public const int Title = 200;
    public const int Node = 64;
}

internal sealed class UserConfiguration : IEntityTypeConfiguration<UserRecord>
{
    public void Configure(EntityTypeBuilder<UserRecord> builder)
    {
        builder.ToTable("users");
        builder.HasKey(u => u.Id);
        builder.Property(u => u.Id).HasMaxLength(Lengths.Id);
    }
}

/// <summary>
/// Identity's tables under our names (snake case like the rest of the schema), at Identity's schema version 3
/// (passkeys; 128-character login and token keys) whatever the node's Identity options say: Identity picks its
/// schema from the options of the running app, which the design-time tools do not have, so the version's
/// additions are spelled out here and the model is the same everywhere.
/// </summary>
internal static class AccountTables
{
    private const int MaxKeyLength = 128;

    public static void Name(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<UserRecord>(b =>
        {
            b.Property(u => u.PhoneNumber).HasMaxLength(256);
            b.HasMany<IdentityUserPasskey<string>>().WithOne().HasForeignKey(p => p.UserId).IsRequired();
        });
        modelBuilder.Entity<IdentityUserLogin<string>>(b =>
        {
            b.Property(l => l.LoginProvider).HasMaxLength(MaxKeyLength);
            b.Property(l => l.ProviderKey).HasMaxLength(MaxKeyLength);
        });
        modelBuilder.Entity<IdentityUserToken<string>>(b =>
        {
            b.Property(t => t.LoginProvider).HasMaxLength(MaxKeyLength);
            b.Property(t => t.Name).HasMaxLength(MaxKeyLength);
        });
        modelBuilder.Entity<IdentityUserPasskey<string>>(b =>
        {
            b.HasKey(p => p.CredentialId);
            b.Property(p => p.CredentialId).HasMaxLength(1024); // WebAuthn: at most 1023 bytes
            b.OwnsOne(p => p.Data).ToJson();
        });

        modelBuilder.Entity<IdentityRole>().ToTable("roles");
        modelBuilder.Entity<IdentityRoleClaim<string>>().ToTable("role_claims");
        modelBuilder.Entity<IdentityUserRole<string>>().ToTable("user_roles");
        modelBuilder.Entity<IdentityUserClaim<string>>().ToTable("user_claims");
        modelBuilder.Entity<IdentityUserLogin<string>>().ToTable("user_logins");
        modelBuilder.Entity<IdentityUserToken<string>>().ToTable("user_tokens");
        modelBuilder.Entity<IdentityUserPasskey<string>>().ToTable("user_passkeys");
    }
}

internal sealed class ConversationConfiguration : IEntityTypeConfiguration<ConversationRecord>
{
    public void Configure(EntityTypeBuilder<ConversationRecord> builder)
    {
        builder.ToTable("conversations");
        builder.HasKey(c => c.Id);
        builder.Property(c => c.Id).HasMaxLength(Lengths.Id);
        builder.Property(c => c.UserId).HasMaxLength(Lengths.Id);
        builder.Property(c => c.Title).HasMaxLength(Lengths.Title);
        builder.Property(c => c.ModelId).HasMaxLength(Lengths.Id);
        builder.Property(c => c.ActiveTaskId).HasMaxLength(Lengths.Id);
        builder.Property(c => c.LeafId).HasMaxLength(Lengths.Id);
        builder.Property(c => c.ActiveInstanceId).HasMaxLength(Lengths.Id);
        builder.Property(c => c.ActiveNode).HasMaxLength(Lengths.Node);
        builder.HasOne(c => c.User).WithMany(u => u.Conversations).HasForeignKey(c => c.UserId).OnDelete(DeleteBehavior.Cascade);
        builder.HasIndex(c => new { c.UserId, c.UpdatedAt });

        // The purge finds deleted conversations past their restore window.
        builder.HasIndex(c => c.DeletedAt);

        // The janitor and the lease renewal look claims up by owner instance.
        builder.HasIndex(c => c.ActiveInstanceId);
    }
}

internal sealed class MessageConfiguration : IEntityTypeConfiguration<MessageRecord>
{
    public void Configure(EntityTypeBuilder<MessageRecord> builder)
    {
        builder.ToTable("messages");
        builder.HasKey(m => m.Id);
        builder.Property(m => m.Id).HasMaxLength(Lengths.Id);
        builder.Property(m => m.ConversationId).HasMaxLength(Lengths.Id);
        builder.Property(m => m.ParentId).HasMaxLength(Lengths.Id);
        builder.Property(m => m.Role).HasConversion<string>().HasMaxLength(16);
        builder.Property(m => m.Status).HasConversion<string>().HasMaxLength(16);
        builder.Property(m => m.Node).HasMaxLength(Lengths.Node);
        builder.Property(m => m.ModelId).HasMaxLength(Lengths.Id);
        builder.HasOne(m => m.Conversation).WithMany(c => c.Messages).HasForeignKey(m => m.ConversationId).OnDelete(DeleteBehavior.Cascade);
        builder.HasIndex(m => new { m.ConversationId, m.Seq });
    }
}

internal sealed class InstanceConfiguration : IEntityTypeConfiguration<InstanceRecord>
{
    public void Configure(EntityTypeBuilder<InstanceRecord> builder)
    {
        builder.ToTable("instances");
        builder.HasKey(i => i.Id);
        builder.Property(i => i.Id).HasMaxLength(Lengths.Id);
        builder.Property(i => i.NodeId).HasMaxLength(Lengths.Node);
        builder.HasIndex(i => i.RenewedAt);
    }
}

internal sealed class UsageConfiguration : IEntityTypeConfiguration<UsageRecord>
{
    public void Configure(EntityTypeBuilder<UsageRecord> builder)
    {
        builder.ToTable("answer_usage");
        builder.HasKey(u => u.Id);
        builder.Property(u => u.Id).HasMaxLength(Lengths.Id);
        builder.Property(u => u.UserId).HasMaxLength(Lengths.Id);
        builder.Property(u => u.ConversationId).HasMaxLength(Lengths.Id);
        builder.Property(u => u.ModelId).HasMaxLength(Lengths.Id);
        builder.Property(u => u.Status).HasConversion<string>().HasMaxLength(16);

        // The quota's sum (one user, one day) and the admin figures (a range of days).
        builder.HasIndex(u => new { u.UserId, u.Day });
        builder.HasIndex(u => u.Day);
    }
}

internal sealed class DataProtectionKeyConfiguration : IEntityTypeConfiguration<DataProtectionKeyRecord>
{
    public void Configure(EntityTypeBuilder<DataProtectionKeyRecord> builder)
    {
        builder.ToTable("data_protection_keys");
        builder.HasKey(k => k.Id);
    }
}

/// <summary>For <c>dotnet ef migrations add X -c SqliteChatPortalDbContext -o Storage/Migrations/Sqlite</c>.</summary>
internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteChatPortalDbContext>
{
    public SqliteChatPortalDbContext CreateDbContext(string[] args) =>
        new(DatabaseSetup.Sqlite(new DbContextOptionsBuilder<SqliteChatPortalDbContext>(), "Data Source=design.db").Options);
}

/// <summary>For <c>dotnet ef migrations add X -c PostgresChatPortalDbContext -o Storage/Migrations/Postgres</c>.</summary>
internal sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresChatPortalDbContext>
{
    public PostgresChatPortalDbContext CreateDbContext(string[] args) =>
        new(DatabaseSetup.Postgres(new DbContextOptionsBuilder<PostgresChatPortalDbContext>(), "Host=localhost;Database=chatportal").Options);
}
