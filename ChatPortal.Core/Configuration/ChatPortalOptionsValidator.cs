using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace ChatPortal.Core.Configuration;

/// <summary>
/// Validates the whole section, nested objects included, and names each bad key the way an
/// operator writes it (<c>ChatPortal:Model:Simulated:TokensPerSecond</c>).
/// </summary>
public sealed class ChatPortalOptionsValidator : IValidateOptions<ChatPortalOptions>
{
    public ValidateOptionsResult Validate(string? name, ChatPortalOptions options)
    {
        var failures = new List<string>();
        const string root = ChatPortalOptions.SectionName;

        Annotations(options.Model.Simulated, $"{root}:Model:Simulated", failures);
        Annotations(options.Limits, $"{root}:Limits", failures);

        if (string.IsNullOrWhiteSpace(options.KeyPrefix) || options.KeyPrefix.Length > 32 || options.KeyPrefix.Any(char.IsWhiteSpace))
        {
            failures.Add($"{root}:KeyPrefix must be 1-32 characters without spaces (got '{options.KeyPrefix}').");
        }

        if (options.NodeId is { } nodeId && (nodeId.Length is 0 or > 64 || nodeId.Any(c => char.IsWhiteSpace(c) || c is '{' or '}')))
        {
            failures.Add($"{root}:NodeId must be 1-64 characters without spaces or braces (got '{nodeId}').");
        }

        if (options.Model.Models.Count > 0)
        {
            ValidateModels(options.Model, $"{root}:Model", failures);
        }
        else if (options.Model.Provider == ModelProvider.OpenAI)
        {
            Annotations(options.Model.OpenAI, $"{root}:Model:OpenAI", failures);
            if (!Uri.TryCreate(options.Model.OpenAI.Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
            {
                failures.Add($"{root}:Model:OpenAI:Endpoint must be an absolute http(s) URL when {root}:Model:Provider is OpenAI.");
            }

            if (string.IsNullOrWhiteSpace(options.Model.OpenAI.ModelId))
            {
                failures.Add($"{root}:Model:OpenAI:ModelId is required when {root}:Model:Provider is OpenAI.");
            }
        }

        if (options.UsesRedis && options.Database.Provider == DatabaseProvider.Sqlite)
        {
            failures.Add($"{root}:Redis is set (a cluster), so {root}:Database:Provider must be Postgres with {root}:Database:ConnectionString: a SQLite file cannot be shared between nodes.");
        }

        if (options.Database.Provider == DatabaseProvider.Postgres && string.IsNullOrWhiteSpace(options.Database.ConnectionString))
        {
            failures.Add($"{root}:Database:ConnectionString is required when {root}:Database:Provider is Postgres.");
        }

        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            failures.Add($"{root}:DataDirectory must not be empty.");
        }

        if (!string.IsNullOrWhiteSpace(options.DataProtection.CertificatePath) && !File.Exists(options.DataProtection.CertificatePath))
        {
            failures.Add($"{root}:DataProtection:CertificatePath names a file that does not exist ('{options.DataProtection.CertificatePath}').");
        }

        if (string.IsNullOrWhiteSpace(options.Admin.Username))
        {
            failures.Add($"{root}:Admin:Username must not be empty.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Each entry of <c>Model:Models</c>, named by its index as in the environment form, and <c>Model:Default</c>.</summary>
    private static void ValidateModels(ModelOptions model, string path, List<string> failures)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < model.Models.Count; i++)
        {
            var entry = model.Models[i];
            var at = $"{path}:Models:{i}";
            Annotations(entry, at, failures);
            if (string.IsNullOrWhiteSpace(entry.Id) || entry.Id.Length > 64 || !entry.Id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or ':' or '/'))
            {
                failures.Add($"{at}:Id must be 1-64 letters, digits or .-_:/ (got '{entry.Id}').");
            }
            else if (!ids.Add(entry.Id))
            {
                failures.Add($"{at}:Id '{entry.Id}' is used by another model.");
            }

            if (entry.DisplayName is { Length: > 80 })
            {
                failures.Add($"{at}:DisplayName must be at most 80 characters.");
            }

            if (entry.MaxOutputTokens >= entry.ContextWindow)
            {
                failures.Add($"{at}:MaxOutputTokens ({entry.MaxOutputTokens}) must be smaller than {at}:ContextWindow ({entry.ContextWindow}).");
            }

            if (entry.Provider == ModelProvider.OpenAI
                && (!Uri.TryCreate(entry.Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https")))
            {
                failures.Add($"{at}:Endpoint must be an absolute http(s) URL when {at}:Provider is OpenAI.");
            }
        }

        if (!string.IsNullOrWhiteSpace(model.Default) && !model.Models.Any(m => m.Id == model.Default))
        {
            failures.Add($"{path}:Default names no model of {path}:Models (got '{model.Default}').");
        }
    }

    /// <summary>Data-annotation failures of <paramref name="target"/>, each naming its key under <paramref name="path"/>.</summary>
    public static void Annotations(object target, string path, List<string> failures)
    {
        var results = new List<ValidationResult>();
        if (Validator.TryValidateObject(target, new ValidationContext(target), results, validateAllProperties: true))
        {
            return;
        }

        foreach (var result in results)
        {
            foreach (var member in result.MemberNames)
            {
                var value = target.GetType().GetProperty(member)?.GetValue(target);
                failures.Add($"{path}:{member} is invalid ({value}): {result.ErrorMessage}");
            }
        }
    }
}
