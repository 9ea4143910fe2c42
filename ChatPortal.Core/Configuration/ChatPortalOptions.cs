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

    /// <summary>The system prompt sent before the conversation history.</summary>
    public string SystemPrompt { get; set; } = "You are ChatPortal, a helpful assistant. Answer in Markdown.";
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

    /// <summary>Messages one user may send per minute on one node.</summary>
    [Range(1, 100_000)]
    public int MessagesPerMinute { get; set; } = 30;
}
