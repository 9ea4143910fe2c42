using System.ComponentModel.DataAnnotations;

namespace ChatPortal.Core.Configuration;

/// <summary>The <c>ChatPortal</c> configuration section (environment form <c>ChatPortal__Key__Sub</c>).</summary>
public sealed class ChatPortalOptions
{
    public const string SectionName = "ChatPortal";

    /// <summary>StackExchange.Redis connection string; empty means a single node on in-memory state.</summary>
    public string? Redis { get; set; }

    /// <summary>Name shown in the UI, API and dashboard; default is host name + port.</summary>
    public string? NodeId { get; set; }

    /// <summary>Prefix of every Redis key and channel.</summary>
    public string KeyPrefix { get; set; } = "cp:";

    public ModelOptions Model { get; set; } = new();

    public AdminOptions Admin { get; set; } = new();

    public LimitsOptions Limits { get; set; } = new();

    /// <summary>Where a node keeps files (the SQLite database of the embedded default); relative to the content root.</summary>
    public string DataDirectory { get; set; } = "data";

    public DatabaseOptions Database { get; set; } = new();

    public DataProtectionOptions DataProtection { get; set; } = new();

    public bool UsesRedis => !string.IsNullOrWhiteSpace(Redis);
}

public enum ModelProvider
{
    Simulated,
    OpenAI,
}

public sealed class ModelOptions
{
    public ModelProvider Provider { get; set; } = ModelProvider.Simulated;

    public SimulatedModelOptions Simulated { get; set; } = new();

    public OpenAIModelOptions OpenAI { get; set; } = new();

    /// <summary>The system prompt sent before the conversation history, unless a conversation has instructions of its own.</summary>
    public string SystemPrompt { get; set; } = "You are ChatPortal, a helpful assistant. Answer in Markdown.";

    /// <summary>
    /// Several models to choose from per conversation. Empty: one model from <see cref="Provider"/> and its section
    /// (the single-model keys), the simulated model by default.
    /// </summary>
    public List<ModelDefinition> Models { get; set; } = [];

    /// <summary>The <see cref="ModelDefinition.Id"/> of the default model; empty: the first of <see cref="Models"/>.</summary>
    public string? Default { get; set; }

    /// <summary>Titles written by the model after a conversation's first answer (off: the first words of the question stay).</summary>
    public bool GenerateTitles { get; set; } = true;
}

/// <summary>One entry of <c>Model:Models</c>.</summary>
public sealed class ModelDefinition
{
    /// <summary>Stable id, stored with conversations and answers (letters, digits, <c>.-_:/</c>).</summary>
    public string? Id { get; set; }

    /// <summary>Name shown in the picker and under answers; default: the id.</summary>
    public string? DisplayName { get; set; }

    public ModelProvider Provider { get; set; } = ModelProvider.OpenAI;

    /// <summary>OpenAI-compatible endpoint (for <see cref="ModelProvider.OpenAI"/>).</summary>
    public string? Endpoint { get; set; }

    /// <summary>The model name the endpoint knows (for <see cref="ModelProvider.OpenAI"/>); default: the id.</summary>
    public string? ModelId { get; set; }

    public string? ApiKey { get; set; }

    /// <summary>Tokens the model accepts, prompt and answer together.</summary>
    [Range(256, 100_000_000)]
    public int ContextWindow { get; set; } = 8192;

    /// <summary>Longest answer asked for (sent to the model; reserved from the context window). Empty: not sent, and a quarter of the window (at most 4096) is reserved.</summary>
    [Range(1, 100_000_000)]
    public int? MaxOutputTokens { get; set; }
}

public sealed class SimulatedModelOptions
{
    [Range(0.1, 100_000)]
    public double TokensPerSecond { get; set; } = 20;

    [Range(1, 100_000)]
    public int ResponseTokens { get; set; } = 120;

    /// <summary>Delay before the first token, in milliseconds (the "thinking" time of a real model).</summary>
    [Range(0, 60_000)]
    public int FirstTokenDelayMs { get; set; } = 300;
}

public sealed class OpenAIModelOptions
{
    public string? Endpoint { get; set; }

    public string? ApiKey { get; set; }

    public string? ModelId { get; set; }

    /// <summary>Tokens the single configured model accepts (prompt and answer together).</summary>
    [Range(256, 100_000_000)]
    public int ContextWindow { get; set; } = 8192;
}

public sealed class AdminOptions
{
    public string Username { get; set; } = "admin";

    public string? Password { get; set; }
}

public sealed class LimitsOptions
{
    [Range(1, 1_000_000)]
    public int MaxMessageChars { get; set; } = 8000;

    /// <summary>Messages one user may send per minute, cluster-wide.</summary>
    [Range(1, 100_000)]
    public int MessagesPerMinute { get; set; } = 30;

    /// <summary>Messages from one client address per minute, whatever identities it uses, cluster-wide.</summary>
    [Range(1, 100_000)]
    public int MessagesPerMinutePerAddress { get; set; } = 60;

    /// <summary>Answers one user may have generating at once, cluster-wide.</summary>
    [Range(1, 100_000)]
    public int ConcurrentAnswersPerUser { get; set; } = 3;

    /// <summary>Tokens (prompt and answer) one user may use per UTC day, cluster-wide; 0 = no quota.</summary>
    [Range(0, long.MaxValue)]
    public long TokensPerUserPerDay { get; set; }

    /// <summary>Longest instructions (system prompt) a conversation may have.</summary>
    [Range(1, 1_000_000)]
    public int MaxInstructionsChars { get; set; } = 8000;
}

public enum DatabaseProvider
{
    Sqlite,
    Postgres,
}

/// <summary>The system of record: a SQLite file for one node, PostgreSQL for a cluster.</summary>
public sealed class DatabaseOptions
{
    public DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;

    /// <summary>ADO.NET connection string; empty means <c>Data Source={DataDirectory}/chatportal.db</c> for SQLite.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Apply the migrations at start (under a lock); false for operators who migrate separately.</summary>
    public bool MigrateOnStart { get; set; } = true;
}

/// <summary>Encryption at rest of the Data Protection keys stored in the database.</summary>
public sealed class DataProtectionOptions
{
    /// <summary>A PFX file whose certificate encrypts the key ring; empty means keys are stored unencrypted.</summary>
    public string? CertificatePath { get; set; }

    public string? CertificatePassword { get; set; }
}
