import type { AnyStateMachine, AnyStateNode } from 'xstate';

/** The label of a transition's event: `after startTimeout` for a delayed one. */
function eventLabel(eventType: string): string {
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (after !== null) return `after ${after[1] ?? ''}`;
  return eventType === '' ? 'always' : eventType;
}

function guardLabel(guard: unknown): string {
  if (guard === undefined) return '';
  if (typeof guard === 'string') return ` [${guard}]`;
  if (typeof guard === 'object' && guard !== null && 'type' in guard) return ` [${String((guard).type)}]`;
  return ' [guard]';
}

/** Mermaid state ids cannot contain dots. */
function mermaidId(node: AnyStateNode): string {
  return node.path.length === 0 ? 'root' : node.path.join('_');
}

/**
 * Renders a machine as a Mermaid `stateDiagram-v2`, from the machine definition itself, so
 * the picture in the README cannot drift from the code (a test compares them). Targetless
 * transitions (which only run actions) are left out; guards are shown in brackets; delayed
 * transitions read `after <delay>`.
 */
export function toMermaid(machine: AnyStateMachine): string {
  const lines: string[] = ['stateDiagram-v2'];
  const visit = (node: AnyStateNode, indent: string): void => {
    const children = Object.values(node.states) as AnyStateNode[];
    const initial = (node.initial?.target as AnyStateNode[] | undefined)?.[0];
    if (initial !== undefined) lines.push(`${indent}[*] --> ${mermaidId(initial)}`);
    for (const child of children) {
      if (Object.keys(child.states).length > 0) {
        lines.push(`${indent}state ${mermaidId(child)} {`);
        visit(child, `${indent}  `);
        lines.push(`${indent}}`);
      }
    }
    for (const child of children) {
      const transitions: { eventType: string; target?: readonly AnyStateNode[] | undefined; guard?: unknown }[] = [];
      for (const [eventType, defs] of child.transitions) for (const def of defs) transitions.push({ ...def, eventType });
      for (const def of child.always ?? []) transitions.push({ ...def, eventType: '' });
      for (const t of transitions) {
        const target = t.target?.[0];
        if (target === undefined) continue;
        lines.push(`${indent}${mermaidId(child)} --> ${mermaidId(target)} : ${eventLabel(t.eventType)}${guardLabel(t.guard)}`);
      }
    }
  };
  visit(machine.root, '  ');
  return lines.join('\n');
}
