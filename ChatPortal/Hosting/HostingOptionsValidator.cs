using ChatPortal.Core.Configuration;
using Microsoft.Extensions.Options;

namespace ChatPortal.Hosting;

/// <summary>Settings whose validity depends on the environment: outside Development an admin password is required.</summary>
internal sealed class HostingOptionsValidator(IHostEnvironment environment) : IValidateOptions<ChatPortalOptions>
{
    public ValidateOptionsResult Validate(string? name, ChatPortalOptions options) =>
        !environment.IsDevelopment() && string.IsNullOrWhiteSpace(options.Admin.Password)
            ? ValidateOptionsResult.Fail($"{ChatPortalOptions.SectionName}:Admin:Password is required outside Development (environment '{environment.EnvironmentName}').")
            : ValidateOptionsResult.Success;
}
