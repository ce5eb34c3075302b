/**
 * The widget's styles. They are adopted by its shadow root as a constructed stylesheet, which a
 * strict Content-Security-Policy (no 'unsafe-inline' styles) allows, and which no selector of the
 * host page can reach. `:host` resets everything the page could make the host element inherit;
 * its `!important`s win over the page's, because for important declarations the shadow tree's
 * own context wins.
 */
export const CSS = `
:host{all:initial!important;display:block!important;position:fixed!important;z-index:2147483647!important;
right:0!important;bottom:0!important;width:0!important;height:0!important;overflow:visible!important;
visibility:visible!important;opacity:1!important;transform:none!important;filter:none!important}
*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
.root{--bg:#fff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--accent:#2f5fd0;--accent-fg:#fff;--bot:#f3f5f8;
--user:#2f5fd0;--user-fg:#fff;--warn-bg:#fff4e5;--warn-fg:#7a4100;--code:#eef1f4;--shadow:0 12px 40px rgba(0,0,0,.22);
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);
text-align:left;letter-spacing:normal;word-spacing:normal;text-transform:none;direction:ltr}
@media (prefers-color-scheme:dark){.root.auto{--bg:#1c2128;--fg:#e6edf3;--muted:#9da7b3;--line:#3d444d;--accent:#6ea0ff;
--accent-fg:#0d1117;--bot:#262c36;--user:#3b6fe0;--user-fg:#fff;--warn-bg:#3a2a12;--warn-fg:#f0c987;--code:#161b22}}
.root.dark{--bg:#1c2128;--fg:#e6edf3;--muted:#9da7b3;--line:#3d444d;--accent:#6ea0ff;--accent-fg:#0d1117;--bot:#262c36;
--user:#3b6fe0;--user-fg:#fff;--warn-bg:#3a2a12;--warn-fg:#f0c987;--code:#161b22}
button,input,textarea{font:inherit;color:inherit;margin:0}
button{cursor:pointer}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.sr{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);border:0}
.launcher{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;
background:var(--accent);color:var(--accent-fg);box-shadow:var(--shadow);display:flex;align-items:center;justify-content:center}
.launcher svg{width:28px;height:28px;fill:currentColor}
.panel{position:fixed;right:20px;bottom:88px;width:380px;height:min(600px,calc(100vh - 110px));display:flex;
flex-direction:column;background:var(--bg);color:var(--fg);border:1px solid var(--line);border-radius:14px;
box-shadow:var(--shadow);overflow:hidden}
header{display:flex;align-items:center;gap:8px;padding:10px 12px;border-bottom:1px solid var(--line)}
header img{width:28px;height:28px;object-fit:contain;border-radius:6px}
h2{flex:1;margin:0;font-size:16px;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.icon{background:none;border:0;width:32px;height:32px;border-radius:8px;font-size:20px;line-height:1;color:var(--muted)}
.icon:hover,.link:hover{background:var(--bot)}
.link{background:none;border:1px solid var(--line);border-radius:8px;padding:4px 8px;font-size:13px;color:var(--fg)}
.log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:10px}
.msg{max-width:88%;padding:8px 12px;border-radius:12px;overflow-wrap:anywhere}
.msg.bot{align-self:flex-start;background:var(--bot)}
.msg.user{align-self:flex-end;background:var(--user);color:var(--user-fg);white-space:pre-wrap}
.msg.note{align-self:center;background:none;color:var(--muted);font-size:13px;text-align:center}
.msg p{margin:0 0 6px}.msg p:last-child{margin-bottom:0}
.msg ul,.msg ol{margin:4px 0 6px;padding-left:20px}
.msg pre{margin:6px 0;padding:8px;background:var(--code);border-radius:8px;overflow-x:auto;white-space:pre;font-size:13px}
.msg code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--code);border-radius:4px;padding:0 3px}
.msg pre code{background:none;padding:0}
.msg a{color:var(--accent)}
.msg[aria-busy=true] .body::after{content:"\\25CF";margin-left:4px;animation:blink 1s steps(2) infinite;color:var(--muted)}
@keyframes blink{50%{opacity:0}}
.sources{margin-top:8px;padding-top:6px;border-top:1px solid var(--line);font-size:13px}
.sources ol{margin:2px 0 0;padding-left:18px}
.sources span{display:block;color:var(--muted);font-size:12px}
.actions{display:flex;gap:4px;margin-top:6px;align-items:center;font-size:12px;color:var(--muted)}
.actions button{background:none;border:1px solid var(--line);border-radius:6px;padding:3px 7px;display:flex}
.actions svg{width:15px;height:15px;fill:currentColor}.actions .down svg{transform:rotate(180deg)}
.actions button[aria-pressed=true]{background:var(--accent);color:var(--accent-fg);border-color:var(--accent)}
.alert{margin:0 12px 8px;padding:8px 10px;border-radius:8px;background:var(--warn-bg);color:var(--warn-fg);font-size:14px}
.alert button{margin-left:6px;background:none;border:1px solid currentColor;border-radius:6px;padding:1px 8px;color:inherit}
form.lead{display:grid;gap:6px;padding:10px 12px;border-top:1px solid var(--line)}
form.lead label{font-size:13px;color:var(--muted);display:grid;gap:2px}
input,textarea{background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:7px 9px;width:100%}
.row{display:flex;gap:8px;justify-content:flex-end}
.primary{background:var(--accent);color:var(--accent-fg);border:0;border-radius:8px;padding:7px 14px;font-weight:600}
.primary:disabled{opacity:.6;cursor:default}
form.composer{display:flex;gap:8px;padding:10px 12px;border-top:1px solid var(--line)}
form.composer textarea{resize:none;height:40px;max-height:120px}
footer{display:flex;justify-content:space-between;align-items:center;padding:4px 12px 8px;font-size:12px;color:var(--muted)}
footer a{color:var(--muted)}
footer .link{border:0;padding:2px 4px;font-size:12px;color:var(--accent)}
@media (max-width:480px){.panel{right:0;bottom:0;width:100vw;height:100%;border-radius:0;border:0}
.launcher{right:16px;bottom:16px}.panel:not([hidden])~.launcher{display:none}}
@media (prefers-reduced-motion:reduce){.msg[aria-busy=true] .body::after{animation:none}}
`;
