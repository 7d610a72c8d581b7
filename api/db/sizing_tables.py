"""Canonical size-and-fit tables: shopper, item, size chart, order line, return, review."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base


class Shopper(Base):
    __tablename__ = "shopper"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), index=True)
    stature_cm: Mapped[float | None] = mapped_column(Float)
    body_mass_kg: Mapped[float | None] = mapped_column(Float)
    bust_girth_cm: Mapped[float | None] = mapped_column(Float)
    waist_girth_cm: Mapped[float | None] = mapped_column(Float)
    hip_girth_cm: Mapped[float | None] = mapped_column(Float)
    bra_band: Mapped[float | None] = mapped_column(Float)
    cup: Mapped[str | None] = mapped_column(String(8))
    body_type: Mapped[str | None] = mapped_column(String(32))
    age_years: Mapped[float | None] = mapped_column(Float)
    extra: Mapped[dict | None] = mapped_column(JSON)


class Item(Base):
    __tablename__ = "item"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), index=True)
    brand: Mapped[str | None] = mapped_column(String(128), index=True)
    category: Mapped[str | None] = mapped_column(String(64), index=True)


class SizeChart(Base):
    __tablename__ = "size_chart"
    __table_args__ = (UniqueConstraint("item_id", "brand", "size", "measurement"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str | None] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    brand: Mapped[str | None] = mapped_column(String(128), index=True)
    size: Mapped[str] = mapped_column(String(32))
    measurement: Mapped[str] = mapped_column(String(64))
    cm: Mapped[float] = mapped_column(Float)


class OrderLine(Base):
    __tablename__ = "order_line"
    # covers the "which sizes has this item sold in" lookup of every recommendation (index-only scan)
    __table_args__ = (Index("ix_order_line_item_size", "item_id", "size", "size_num"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), index=True)
    shopper_id: Mapped[str] = mapped_column(ForeignKey("shopper.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    size: Mapped[str] = mapped_column(String(32))
    size_num: Mapped[float | None] = mapped_column(Float)
    ordered_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    extra: Mapped[dict | None] = mapped_column(JSON)


class Return(Base):
    __tablename__ = "return"

    order_line_id: Mapped[str] = mapped_column(
        ForeignKey("order_line.id", ondelete="CASCADE"), primary_key=True
    )
    reason: Mapped[str] = mapped_column(String(16))  # too_small, too_large, style, quality, other
    returned_at: Mapped[datetime | None] = mapped_column(DateTime)


class Review(Base):
    __tablename__ = "review"

    order_line_id: Mapped[str] = mapped_column(
        ForeignKey("order_line.id", ondelete="CASCADE"), primary_key=True
    )
    rating: Mapped[float | None] = mapped_column(Float)
    fit: Mapped[str | None] = mapped_column(String(8))  # small, fit, large
    text: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
