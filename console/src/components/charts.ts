// ECharts, tree-shaken to the charts and parts the console draws (bars, lines, pies with
// their axes, tooltips and legends, in SVG), and imported only when a chart is first shown.
import type { ComposeOption } from "echarts/core";
import type { BarSeriesOption, LineSeriesOption, PieSeriesOption } from "echarts/charts";
import type {
  DatasetComponentOption,
  GridComponentOption,
  LegendComponentOption,
  TitleComponentOption,
  TooltipComponentOption,
} from "echarts/components";

export type ChartOption = ComposeOption<
  | BarSeriesOption
  | LineSeriesOption
  | PieSeriesOption
  | DatasetComponentOption
  | GridComponentOption
  | LegendComponentOption
  | TitleComponentOption
  | TooltipComponentOption
>;

export type Charts = typeof import("echarts/core");
export type Chart = ReturnType<Charts["init"]>;

let loading: Promise<Charts> | undefined;

/** The ECharts core with the console's charts registered, loaded once. */
export function loadCharts(): Promise<Charts> {
  loading ??= (async () => {
    const [core, charts, components, renderers] = await Promise.all([
      import("echarts/core"),
      import("echarts/charts"),
      import("echarts/components"),
      import("echarts/renderers"),
    ]);
    core.use([
      charts.BarChart,
      charts.LineChart,
      charts.PieChart,
      components.DatasetComponent,
      components.GridComponent,
      components.LegendComponent,
      components.TitleComponent,
      components.TooltipComponent,
      renderers.SVGRenderer,
    ]);
    return core;
  })();
  return loading;
}
