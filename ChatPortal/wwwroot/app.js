// Small page helpers used through JS interop, and two delegated listeners that need no interop at all.
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
    // The phone drawer: opened, focus its current conversation (or New chat); closed, give the focus back to the
    // toggle if it was in the drawer (or lost to the page), so a keyboard user is never left on a hidden element.
    drawerFocus(open) {
        const drawer = document.getElementById('cp-sidebar');
        const toggle = document.querySelector('[data-testid=sidebar-toggle]');
        if (open && window.chatPortal.searchAfterOpen) {
            window.chatPortal.searchAfterOpen = false;
            drawer?.querySelector('[data-testid=conversation-search]')?.focus();
        } else if (open) {
            (drawer?.querySelector('[aria-current=page]') ?? drawer?.querySelector('a, button'))?.focus();
        } else if (toggle && (document.activeElement === document.body || drawer?.contains(document.activeElement))) {
            toggle.focus();
        }
    },
    // The reader's time zone (IANA name), for the conversation list's date headings.
    timeZone() {
        try {
            return Intl.DateTimeFormat().resolvedOptions().timeZone ?? null;
        } catch {
            return null;
        }
    },
    clearInput(input) {
        if (input) {
            input.value = '';
        }
    },
    focusAndSelect(input) {
        input?.focus();
        input?.select();
    },
    async copy(text) {
        try {
            await navigator.clipboard.writeText(text);
        } catch {
            // No clipboard API (an insecure origin, a denied permission): the old way, through a selection.
            const area = document.createElement('textarea');
            area.value = text;
            area.setAttribute('readonly', '');
            area.style.position = 'fixed';
            area.style.opacity = '0';
            document.body.appendChild(area);
            area.select();
            document.execCommand('copy');
            area.remove();
        }
    }
};

// The copy button of every code block (rendered on the server, so it has no handler of its own): one listener for
// all of them. The button says "Copied" for a moment.
document.addEventListener('click', async event => {
    const button = event.target instanceof Element ? event.target.closest('[data-copy-code]') : null;
    const code = button?.closest('.cp-code')?.querySelector('pre code');
    if (!code) {
        return;
    }

    await window.chatPortal.copy(code.textContent);
    const label = button.querySelector('.cp-code-copy-text');
    button.dataset.copied = 'true';
    button.setAttribute('aria-label', 'Copied');
    if (label) {
        label.textContent = 'Copied';
    }

    clearTimeout(button.__cpCopied);
    button.__cpCopied = setTimeout(() => {
        delete button.dataset.copied;
        button.setAttribute('aria-label', 'Copy code');
        if (label) {
            label.textContent = 'Copy';
        }
    }, 1600);
});

// Ctrl+K (Cmd+K on a Mac) focuses the conversation search, opening the phone drawer first if it is closed.
document.addEventListener('keydown', event => {
    if (!(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey || event.key.toLowerCase() !== 'k') {
        return;
    }

    const search = document.querySelector('[data-testid=conversation-search]');
    if (!search) {
        return;
    }

    event.preventDefault();
    const chat = document.querySelector('.cp-chat');
    const toggle = chat?.querySelector('[data-testid=sidebar-toggle]');
    if (chat && toggle && !chat.classList.contains('cp-sidebar-open') && getComputedStyle(toggle).display !== 'none') {
        window.chatPortal.searchAfterOpen = true; // drawerFocus puts the focus there once the drawer is shown
        toggle.click();
        return;
    }

    search.focus();
    search.select();
});

// Esc in the chat: closes the phone drawer if it is open, else stops the running answer (the Stop button's own
// click, so the page does exactly what a click does). Not while a dialog or a menu is open: Esc is theirs.
document.addEventListener('keydown', event => {
    if (event.key !== 'Escape' || event.defaultPrevented || event.isComposing) {
        return;
    }

    // A field that gives Esc its own meaning (the rename field: cancel) keeps it.
    if (event.target instanceof Element && event.target.closest('[data-own-escape]')) {
        return;
    }

    const chat = document.querySelector('.cp-chat');
    const active = document.activeElement;
    if (!chat || document.querySelector('.mud-dialog-container, .mud-popover-open:not(.mud-tooltip)')
        || !(active === document.body || active === null || chat.contains(active))) {
        return;
    }

    if (chat.classList.contains('cp-sidebar-open')) {
        chat.querySelector('[data-testid=sidebar-toggle]')?.click();
        return;
    }

    const stop = chat.querySelector('[data-testid=stop-button]:not([disabled])');
    if (stop) {
        event.preventDefault();
        stop.click();
    }
});

// Passkeys on the account forms (data-passkey="create" on /account, "request" on /login): fetch the options from the
// server with the form's antiforgery token, let the browser make or use the credential, and post its JSON with the
// form. The server checks everything; without WebAuthn the form says so and stays.
document.addEventListener('submit', async event => {
    const form = event.target;
    const mode = form instanceof HTMLFormElement ? form.dataset.passkey : undefined;
    if (!mode || form.dataset.passkeyReady) {
        return;
    }
    event.preventDefault();
    const status = form.querySelector('.cp-passkey-status');
    const say = text => { if (status) { status.textContent = text; } };
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) {
        say('This browser cannot use passkeys.');
        return;
    }
    try {
        const body = new FormData();
        body.append('__RequestVerificationToken', form.querySelector('input[name=__RequestVerificationToken]').value);
        const response = await fetch(`/account/passkey/${mode === 'create' ? 'creation' : 'request'}-options`, { method: 'POST', body, credentials: 'same-origin' });
        if (!response.ok) {
            say('The server could not start the passkey request. Reload the page and try again.');
            return;
        }
        const options = await response.json();
        const credential = mode === 'create'
            ? await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) })
            : await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
        form.querySelector('input[name=credential]').value = JSON.stringify(credential);
        form.dataset.passkeyReady = '1';
        form.submit();
    } catch (error) {
        say(error && error.name === 'NotAllowedError' ? 'The passkey request was cancelled.' : 'The passkey did not work here: ' + (error && error.message || error));
    }
});
