using System.ClientModel;
using System.ClientModel.Primitives;
using ChatPortal.Core.Configuration;
using Microsoft.Extensions.AI;
using OpenAI;

namespace ChatPortal.Core.Generation;

/// <summary>
/// Any OpenAI-compatible chat completions endpoint (OpenAI, Ollama, vLLM, LM Studio…) as an <see cref="IChatClient"/>.
/// No automatic retries: a failing endpoint ends the answer as failed with a readable reason instead of keeping
/// the user waiting. The generation's token is passed to the HTTP request, so Stop closes the upstream
/// connection and no more tokens are paid for.
/// </summary>
public static class OpenAICompatibleClient
{
    public static IChatClient Create(OpenAIModelOptions options)
    {
        var clientOptions = new OpenAIClientOptions
        {
            Endpoint = new Uri(options.Endpoint!),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromSeconds(120),
        };

        // Local servers (Ollama, vLLM) take any key; the SDK requires one.
        var key = new ApiKeyCredential(string.IsNullOrWhiteSpace(options.ApiKey) ? "not-needed" : options.ApiKey);
        return new OpenAI.Chat.ChatClient(options.ModelId, key, clientOptions).AsIChatClient();
    }
}
