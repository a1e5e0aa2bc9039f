"""A realistic 150-line Dispatcher Rules routing script (used by rules_bench and the rules unit tests)."""

ROUTING_SCRIPT = """\
# Contoso MSP routing rules (v12): queues, priority, types, notes
import re
import datetime
import textwrap

# ---- helper tables -------------------------------------------------------
vip_contacts = ['dana reyes', 'lee chen', 'sam patel', 'the ceo']
vip_domains = ['contoso.com', 'fabrikam.com']
blocked_companies = {'Northwind Traders': 'Account on hold: please call billing.'}
queue_keywords = {
    'Networking': ['vpn', 'wifi', 'wi-fi', 'internet', 'network', 'firewall', 'switch', 'router'],
    'Printing': ['printer', 'print', 'toner', 'scanner', 'scan', 'jam'],
    'Email': ['outlook', 'email', 'mailbox', 'calendar', 'teams', 'exchange'],
    'Accounts': ['password', 'locked', 'login', 'log in', 'mfa', 'account', 'reset'],
    'Hardware': ['laptop', 'monitor', 'keyboard', 'mouse', 'dock', 'battery', 'screen'],
    'Line of Business': ['quickbooks', 'sage', 'erp', 'crm', 'salesforce'],
}
issue_map = {
    'Networking': ('Network', 'Connectivity'),
    'Printing': ('Hardware', 'Printer'),
    'Email': ('Software', 'Email'),
    'Accounts': ('Security', 'Account Access'),
    'Hardware': ('Hardware', 'Workstation'),
    'Line of Business': ('Software', 'Line of Business'),
}
urgent_words = ['down', 'outage', 'cannot work', "can't work", 'urgent', 'asap', 'emergency', 'not working']
security_words = ['phish', 'ransom', 'virus', 'malware', 'hacked', 'suspicious', 'breach']
priority_names = ['Critical', 'High', 'Medium', 'Low']

# ---- normalise the input -------------------------------------------------
text = ' '.join(msg.split())
lower = text.lower()
words = [w.strip('.,!?:;()') for w in lower.split()]
word_set = set(words)
domain = email.split('@')[-1].lower() if '@' in email else ''
contact = contactName.lower() if contactName else name.lower()
notes = []

# ---- company level blocks ------------------------------------------------
if businessName in blocked_companies:
    exception = blocked_companies[businessName]

# ---- queue by keywords -----------------------------------------------------
scores = {}
for q, keys in queue_keywords.items():
    score = 0
    for k in keys:
        if ' ' in k:
            if k in lower:
                score += 2
        elif k in word_set:
            score += 1
    if score:
        scores[q] = score
if scores:
    best = max(scores, key=scores.get)
    queue = best
    issue, subIssue = issue_map[best]
    notes.append(f'Routed to {best} (score {scores[best]})')
else:
    notes.append('No routing keyword matched')

# ---- selections from the button form -------------------------------------
for s in selections:
    s_lower = s.lower()
    if 'emergency' in s_lower:
        priority = 'Critical'
        notes.append('Emergency checkbox')
    elif 'new user' in s_lower or 'onboarding' in s_lower:
        type = 'Service Request'
        queue = 'Onboarding'
        issue, subIssue = 'Onboarding', 'New User'
    elif 'question' in s_lower:
        type = 'Service Request'
        if priority not in ('Critical', 'High'):
            priority = 'Low'

# ---- urgency -----------------------------------------------------------------
impact = 2
urgency = 2
hits = [w for w in urgent_words if w in lower]
if hits:
    urgency = 1
    notes.append('Urgent words: ' + ', '.join(hits))
if 'everyone' in word_set or 'whole office' in lower or 'all users' in lower:
    impact = 0
elif 'team' in word_set or 'department' in word_set:
    impact = 1
caps = sum(1 for c in text if c.isupper())
letters = sum(1 for c in text if c.isalpha())
if letters > 20 and caps / letters > 0.75:
    urgency = max(urgency - 1, 0)
    notes.append('Message mostly in capitals')
if text.count('!') >= 3:
    urgency = max(urgency - 1, 0)
matrix_priority = priority_names[min((impact + urgency) // 2, 3)]
if priority != 'Critical':
    priority = matrix_priority

# ---- security incidents --------------------------------------------------
sec = [w for w in security_words if w in lower]
if sec:
    type = 'Incident'
    queue = 'Security'
    issue, subIssue = 'Security', 'Suspicious Activity'
    priority = 'Critical' if 'ransom' in lower or 'breach' in lower else 'High'
    priv_append += 'SECURITY keywords: ' + ', '.join(sorted(sec)) + '\\n'

# ---- VIPs ----------------------------------------------------------------
is_vip = contact in vip_contacts or any(contact.endswith(v) for v in vip_contacts)
if is_vip and priority in ('Medium', 'Low'):
    priority = 'High'
    notes.append('VIP contact')
if domain in vip_domains and queue == 'Client Portal':
    queue = 'Tier 1 Support'

# ---- references to earlier tickets -----------------------------------------
refs = re.findall(r'(?:ticket|case|ref)\\s*#?\\s*(T?\\d{4,10})', text, re.IGNORECASE)
if refs:
    notes.append('Mentions ticket(s): ' + ', '.join(refs[:3]))
    category = 'Follow-up'
m = re.search(r'\\b(\\d{1,3}(?:\\.\\d{1,3}){3})\\b', text)
if m and m.group(1) != ip:
    notes.append(f'Mentions another IP: {m.group(1)}')

# ---- machine facts -----------------------------------------------------------
if hostname.upper().startswith('SRV') or hostname.upper().startswith('DC'):
    type = 'Incident'
    if priority in ('Medium', 'Low'):
        priority = 'High'
    notes.append(f'Server {hostname}')
if 'Tier2Script' in append or 'calibration_issue' in append:
    category = 'Diagnostics attached'

# ---- work type by queue --------------------------------------------------
worktypes = {'Security': 29684210, 'Onboarding': 29684205, 'Networking': 29684204}
worktype = worktypes.get(queue, worktype)

# ---- subject -------------------------------------------------------------------
short = textwrap.wrap(text, 60)
subject = short[0] if short else 'Help request from ' + (name or hostname)
if priority == 'Critical':
    subject = '**EMERGENCY** ' + subject
elif len(short) > 1:
    subject = subject + '...'
if refs:
    subject = f'[{refs[0]}] {subject}'

# ---- ticket status -------------------------------------------------------
if exception:
    ticketStatus = 'New'
elif queue == 'Security':
    ticketStatus = 'Escalated'
else:
    ticketStatus = 'New'

# ---- internal note ---------------------------------------------------------
stamp = datetime.datetime(2026, 11, 26, 14, 5)
summary = [f'{i + 1}. {n}' for i, n in enumerate(notes)]
priv_append += f'Rules v12 at {stamp:%Y-%m-%d %H:%M}\\n' + '\\n'.join(summary)
if len(priv_append) > 2000:
    priv_append = priv_append[:1997] + '...'
"""

ROUTING_VARIABLES = {
    "selections": ["I cannot work", "This is an emergency"],
    "hostname": "SRV-FILES-02",
    "email": "dana.reyes@contoso.com",
    "name": "Dana Reyes",
    "ip": "10.0.0.12",
    "mac": "00:11:22:33:44:55",
    "contactName": "Dana Reyes",
    "businessName": "Contoso Ltd.",
    "msg": (
        "The file server is DOWN for the whole office!!! Nobody can open the shared drive over VPN, "
        "see ticket #T20261120 from last week. The switch in the server room shows orange lights and "
        "10.0.0.254 does not answer pings. Please help asap!"
    ),
    "subject": "The file server is DOWN for the whole office",
    "append": "",
    "priority": "Medium",
    "ticketStatus": "New",
    "queue": "Client Portal",
    "type": "Service Request",
    "source": "Web Portal",
    "issue": "",
    "subIssue": "",
    "category": "",
    "worktype": 29684200,
    "priv_append": "",
}
