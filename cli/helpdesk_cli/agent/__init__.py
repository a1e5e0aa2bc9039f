"""The reference button agent behind `helpdesk press` (standard library + requests only; no boto3).

facts     machine facts collected from the local machine without any network traffic
retry     the retry/backoff policy (injectable clock, sleeper and randomness)
client    the HTTP client of the button agent API (retries with one submission id)
files     attachment loading and the inline-versus-upload decision
render    terminal rendering: progress lines, final results, notifications
exitcodes the documented exit codes of `helpdesk press`
"""
