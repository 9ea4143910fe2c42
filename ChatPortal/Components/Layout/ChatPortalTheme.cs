using MudBlazor;

namespace ChatPortal.Components.Layout;

/// <summary>The one theme, light and dark. System fonts: nodes serve no third-party assets.</summary>
internal static class ChatPortalTheme
{
    public static MudTheme Create() => new()
    {
        PaletteLight = new PaletteLight
        {
            Primary = "#4f46e5",
            Secondary = "#64748b",
            Tertiary = "#0ea5e9",
            AppbarBackground = "#ffffff",
            AppbarText = "#0f172a",
            Background = "#f8fafc",
            Surface = "#ffffff",
            DrawerBackground = "#f1f5f9",
            TextPrimary = "#0f172a",
            TextSecondary = "#475569",
            LinesDefault = "#e2e8f0",
            // Green and amber one shade darker than the usual 600s: as text on white and as a filled chip with white
            // text they pass WCAG AA (4.5:1), which axe checks.
            Success = "#15803d",
            Warning = "#b45309",
            Error = "#dc2626",
        },
        PaletteDark = new PaletteDark
        {
            Primary = "#818cf8",
            Secondary = "#94a3b8",
            Tertiary = "#38bdf8",
            AppbarBackground = "#111827",
            AppbarText = "#e5e7eb",
            Background = "#0b1120",
            Surface = "#111827",
            DrawerBackground = "#0f172a",
            TextPrimary = "#e5e7eb",
            TextSecondary = "#9ca3af",
            LinesDefault = "#1f2937",
            Success = "#22c55e",
            SuccessContrastText = "#0b1120",
            Warning = "#f59e0b",
            WarningContrastText = "#0b1120",
            Error = "#f87171",
        },
        Typography = new Typography
        {
            Default = new DefaultTypography
            {
                FontFamily = ["Inter", "system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"],
            },
        },
        LayoutProperties = new LayoutProperties { DefaultBorderRadius = "10px" },
    };
}
