// @ts-check
/** piscina peer task: returns the request id. */
/** @param {{ id: number, payload: string }} task */
export default function echo(task) {
  return task.id;
}
