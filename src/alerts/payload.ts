// What an alert says and how it is written on the wire: the generic JSON body (every field, for a
// script or an alert manager) or a Slack-compatible body ({text, blocks}, which Slack's incoming
// webhooks and Mattermost/Rocket.Chat accept). Pure. Invariant: in Slack text, every character of
// a user-controlled field is escaped as Slack's mrkdwn requires (&, <, >), so a job named
// "<!channel>" or "<http://x|Click>" pings nobody and links nowhere.

export type AlertKind = 'job_succeeded' | 'job_failed' | 'job_cancelled' | 'job_idle' | 'gpu_drained' | 'node_drained' | 'gpu_resumed' | 'job_requeued';

export interface Alert {
  kind: AlertKind;
  severity: 'info' | 'warning' | 'critical';
  /** One line: "job 42 (train) failed: exit code 1". */
  title: string;
  /** More detail, one or more lines. */
  text: string;
  at: number;
  job?: { id: number; name: string | null; owner: string; project: string | null; state: string; exitCode: number | null; reason: string | null };
  gpu?: { backend: string; node: string; index: number | null };
}

export type WebhookFormat = 'json' | 'slack';

export function alertBody(alert: Alert, format: WebhookFormat, server: string): unknown {
  if (format === 'json') return { source: 'stint', server, ...alert, at: new Date(alert.at).toISOString() };
  const icon = alert.severity === 'critical' ? ':rotating_light:' : alert.severity === 'warning' ? ':warning:' : ':white_check_mark:';
  // Title and text carry job names, projects, owners and reasons: plain text, never mrkdwn.
  const text = `${icon} *${slackEscape(alert.title)}*\n${slackEscape(alert.text)}`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }, { type: 'context', elements: [{ type: 'mrkdwn', text: `stint at ${server}` }] }] };
}

/** Slack's mrkdwn escaping (https://api.slack.com/reference/surfaces/formatting#escaping). */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
