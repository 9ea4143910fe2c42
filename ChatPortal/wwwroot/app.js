// Small page helpers used through JS interop.
window.chatPortal = {
    prefersDark() {
        const saved = localStorage.getItem('chatportal-theme');
        if (saved) {
            return saved === 'dark';
        }
        return window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches;
    },
    saveTheme(dark) {
        localStorage.setItem('chatportal-theme', dark ? 'dark' : 'light');
    },
    async copy(text) {
        try {
            await navigator.clipboard.writeText(text);
        } catch {
            const area = document.createElement('textarea');
            area.value = text;
            document.body.appendChild(area);
            area.select();
            document.execCommand('copy');
            area.remove();
        }
    }
};
