"""The report's map: hazard areas coloured by residual hazard, places sized by population,
country outlines from Natural Earth shipped in the package (no tiles, no network)."""

from __future__ import annotations

import io
from importlib import resources

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import shapely
from matplotlib.artist import Artist
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.patches import Patch

from ..locale import N_, Translate, translator

OUTLINES_CREDIT = "Country outlines: Natural Earth 1:110m (public domain), generalised"
# the same classes as the residual_hazard layer's QGIS style
CLASS_EDGES = np.array([0.0, 0.5, 5.0, 50.0, 500.0, np.inf])
CLASS_LABELS = (N_("below 0.5"), "0.5 – 5", "5 – 50", "50 – 500", N_("500 and more"))
CLASS_COLOURS = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")


def country_outlines() -> gpd.GeoDataFrame:
    """Natural Earth 1:110m countries, from the package's data."""
    data = resources.files("hazardledger.report") / "data" / "naturalearth_lowres.geojson"
    with resources.as_file(data) as path:
        return gpd.read_file(path)


def hazard_class(expected: np.ndarray) -> np.ndarray:
    """Index of each value's colour class (median expected functioning items)."""
    return np.clip(np.searchsorted(CLASS_EDGES, expected, side="right") - 1, 0,
                   len(CLASS_LABELS) - 1)


def plot_map(hazard: gpd.GeoDataFrame, places: gpd.GeoDataFrame, title: str,
             closed: gpd.GeoDataFrame | None = None, tr: Translate = translator("en")
             ) -> bytes:
    """PNG of the open areas (``expected_q50`` coloured), closed areas in grey, and the
    places near them."""
    fig, ax = plt.subplots(figsize=(9, 8), dpi=110)
    x0, y0, x1, y1 = hazard.total_bounds if len(hazard) else (22.1, 44.3, 40.3, 52.4)
    pad = max(x1 - x0, y1 - y0, 0.2) * 0.15
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    outlines = country_outlines()
    outlines.plot(ax=ax, color="#f2efe9", edgecolor="#8c8c8c", linewidth=0.8, zorder=0)
    view = shapely.box(x0, y0, x1, y1)
    shown = places[shapely.intersects(places.geometry.to_numpy(), view)]
    if len(shown):
        points = shapely.point_on_surface(shown.geometry.to_numpy())
        size = 4 + 60 * np.sqrt(shown["population"].to_numpy() / max(
            float(shown["population"].max()), 1.0))
        ax.scatter(shapely.get_x(points), shapely.get_y(points), s=size, color="#3182bd",
                   alpha=0.5, edgecolor="white", linewidth=0.3, zorder=2)
        biggest = np.argsort(-shown["population"].to_numpy())[:8]
        for i in biggest:
            ax.annotate(str(shown["name"].iloc[i]), (shapely.get_x(points[i]),
                                                     shapely.get_y(points[i])),
                        fontsize=7, xytext=(3, 3), textcoords="offset points", zorder=4)
    if closed is not None and len(closed):
        closed.plot(ax=ax, color="#d9d9d9", edgecolor="#737373", linewidth=0.4, zorder=2)
    if len(hazard):
        classes = hazard_class(hazard["expected_q50"].fillna(0).to_numpy())
        cmap = ListedColormap(CLASS_COLOURS)
        norm = BoundaryNorm(np.arange(len(CLASS_COLOURS) + 1), cmap.N)
        hazard.assign(hazard_class=classes + 0.5).plot(
            ax=ax, column="hazard_class", cmap=cmap, norm=norm, edgecolor="#404040",
            linewidth=0.4, zorder=3)
        # areas too small to see at this scale still get a marker of their colour
        centres = shapely.centroid(hazard.geometry.to_numpy())
        ax.scatter(shapely.get_x(centres), shapely.get_y(centres), s=9,
                   c=[CLASS_COLOURS[c] for c in classes], edgecolor="#404040", linewidth=0.3,
                   zorder=3)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(1 / np.cos(np.radians((y0 + y1) / 2)))
    ax.set_xlabel(tr("longitude (°E)"))
    ax.set_ylabel(tr("latitude (°N)"))
    ax.set_title(title, fontsize=10)
    legend: list[Artist] = [Patch(facecolor=c, edgecolor="#404040", label=tr(lab))
                            for c, lab in zip(CLASS_COLOURS, CLASS_LABELS, strict=True)]
    legend.append(Patch(facecolor="#d9d9d9", edgecolor="#737373",
                        label=tr("closed (released by survey or clearance)")))
    legend.append(plt.Line2D([], [], marker="o", linestyle="", color="#3182bd", alpha=0.5,
                             label=tr("populated place (size: population)")))
    ax.legend(handles=legend, title=tr("median expected functioning items"), fontsize=7,
              title_fontsize=7, loc="lower right")
    fig.text(0.01, 0.01, f"{OUTLINES_CREDIT}. Places: GeoNames (geonames.org), CC BY 4.0.",
             fontsize=6)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
