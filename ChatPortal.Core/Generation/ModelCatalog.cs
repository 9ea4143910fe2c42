using System.Collections.Concurrent;
using ChatPortal.Core.Configuration;
using ChatPortal.Core.Telemetry;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ChatPortal.Core.Generation;

/// <summary>A model a conversation can use, resolved from the configuration.</summary>
/// <param name="Id">Stable id, stored with conversations and answers.</param>
/// <param name="ProviderModelId">The name the endpoint knows the model by.</param>
public sealed record ModelEntry(
    string Id,
    string DisplayName,
    ModelProvider Provider,
    string? Endpoint,
    string? ProviderModelId,
    string? ApiKey,
    int ContextWindow,
    int? MaxOutputTokens)
{
    /// <summary>Tokens kept free for the answer: <see cref="MaxOutputTokens"/>, else a quarter of the window (at most 4096).</summary>
    public int ReservedOutputTokens => MaxOutputTokens ?? Math.Min(4096, ContextWindow / 4);

    /// <summary>Tokens the prompt (instructions and history) may take.</summary>
    public int PromptBudget => Math.Max(1, ContextWindow - ReservedOutputTokens);
}

/// <summary>
/// The configured models (<c>Model:Models</c>, or the one model of the single-model keys) and one
/// Microsoft.Extensions.AI pipeline per model (OpenTelemetry, logging), built on first use.
/// An <see cref="IChatClient"/> registered in the container replaces every model's provider client (tests, embedders).
/// </summary>
public sealed class ModelCatalog
{
    /// <summary>The id of the simulated model of the embedded default.</summary>
    public const string SimulatedId = "simulated";

    private readonly ConcurrentDictionary<string, IChatClient> _clients = new(StringComparer.Ordinal);
    private readonly IServiceProvider _services;
    private readonly IChatClient? _override;

    public ModelCatalog(IOptions<ChatPortalOptions> options, IServiceProvider services)
    {
        _services = services;
        _override = services.GetService<IChatClient>();
        Models = Entries(options.Value.Model);
        Default = Find(options.Value.Model.Default) ?? Models[0];
    }

    public IReadOnlyList<ModelEntry> Models { get; }

    public ModelEntry Default { get; }

    /// <summary>The model with this id, or null (unknown, or removed from the configuration since).</summary>
    public ModelEntry? Find(string? id) =>
        string.IsNullOrEmpty(id) ? null : Models.FirstOrDefault(m => string.Equals(m.Id, id, StringComparison.Ordinal));

    /// <summary>The model with this id, else the default: a conversation whose model was removed goes on with the default.</summary>
    public ModelEntry Resolve(string? id) => Find(id) ?? Default;

    /// <summary>The name to show for a stored model id (the id itself once the model is no longer configured).</summary>
    public string DisplayName(string? id) => Find(id)?.DisplayName ?? id ?? "";

    public IChatClient ClientFor(ModelEntry model) => _clients.GetOrAdd(model.Id, _ => Build(model));

    /// <summary>What the configuration describes: <c>Model:Models</c>, or one entry from the single-model keys.</summary>
    public static IReadOnlyList<ModelEntry> Entries(ModelOptions options)
    {
        if (options.Models.Count == 0)
        {
            return options.Provider == ModelProvider.OpenAI
                ? [new ModelEntry(options.OpenAI.ModelId ?? "openai", options.OpenAI.ModelId ?? "OpenAI", ModelProvider.OpenAI, options.OpenAI.Endpoint,
                    options.OpenAI.ModelId, options.OpenAI.ApiKey, options.OpenAI.ContextWindow, null)]
                : [new ModelEntry(SimulatedId, "Simulated", ModelProvider.Simulated, null, null, null, 32_768, null)];
        }

        return [.. options.Models.Select(m => new ModelEntry(
            m.Id ?? "",
            string.IsNullOrWhiteSpace(m.DisplayName) ? m.Id ?? "" : m.DisplayName.Trim(),
            m.Provider,
            m.Endpoint,
            string.IsNullOrWhiteSpace(m.ModelId) ? m.Id : m.ModelId,
            m.ApiKey,
            m.ContextWindow,
            m.MaxOutputTokens))];
    }

    private IChatClient Build(ModelEntry model)
    {
        var inner = _override ?? model.Provider switch
        {
            ModelProvider.OpenAI => OpenAICompatibleClient.Create(new OpenAIModelOptions { Endpoint = model.Endpoint, ApiKey = model.ApiKey, ModelId = model.ProviderModelId }),
            _ => ActivatorUtilities.CreateInstance<SimulatedChatClient>(_services),
        };

        return new ChatClientBuilder(inner)
            .UseOpenTelemetry(sourceName: ChatPortalMetrics.Name)
            .UseLogging()
            .Build(_services);
    }
}
